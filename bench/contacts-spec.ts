// What the contacts bench's parent tells its raw baseline child (in a JSON file): where the data is, which
// instances to read and write, and the SQL Kith ran for each list and search request. Also the create bodies,
// which both sides derive from the same seed: the parent sends them, the raw child precomputes their rows.
import { applyInput, EMPTY_STATE } from '../src/modules/contacts/contacts.apply.ts';
import type { ContactValues } from '../src/modules/contacts/contacts.repository.ts';
import { searchTerms } from '../src/modules/contacts/contacts.search.ts';
import { rowValues } from '../src/modules/contacts/contacts.service.ts';
import { contactInput } from './contacts-data.ts';

/** One statement as Kysely compiled and ran it. */
export interface CapturedQuery {
  sql: string;
  parameters: unknown[];
}

export interface RawSpec {
  engine: 'sqlite' | 'postgres';
  dataDir?: string;
  databaseUrl?: string;
  /** Same pool size as Kith's (KITH_DATABASE_POOL_SIZE). */
  poolSize: number;
  /** The big tenant's instance (get, patch, lists) and the instance creates go to. */
  readInstanceId: string;
  createInstanceId: string;
  createSeed: number;
  createCount: number;
  /** Per list workload, per variant of its request: the statements Kith ran, in order. */
  lists: Record<string, CapturedQuery[][]>;
}

/**
 * The bodies of the create workloads: contacts drawn like the dataset's (from indexes beyond it), without an
 * externalId, since the same body is posted many times and an externalId must stay unique.
 */
export function createBodies(seed: number, count: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const { externalId: _unique, ...input } = contactInput(1_000_000_000 + k, seed);
    return JSON.stringify(input);
  });
}

/** Each create body's row, tags and search terms, worked out by the service's functions at start-up. */
export function createRows(
  spec: Pick<RawSpec, 'engine' | 'createSeed' | 'createCount' | 'createInstanceId'>,
): Map<string, { values: ContactValues; tags: string[]; terms: string[] }> {
  const author = 'raw-baseline';
  return new Map(
    createBodies(spec.createSeed, spec.createCount).map((body) => {
      const { state } = applyInput(EMPTY_STATE, JSON.parse(body) as object, 'US');
      const values = rowValues(state, { createdBy: author, updatedBy: author }, (b) =>
        spec.engine === 'sqlite' ? (b ? 1 : 0) : b,
      );
      return [body, { values, tags: state.tags, terms: searchTerms(state) }];
    }),
  );
}
