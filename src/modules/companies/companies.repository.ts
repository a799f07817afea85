// SQL for companies. Every function takes the instance scope first and filters on it; `state` says which rows
// count (live ones unless the caller asks for the trash). Nothing here decides an error: absent rows are undefined.
import type { Db } from '../../db/database.ts';
import { sql, type Selectable } from 'kysely';
import type { CompaniesTable } from '../../db/schema.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { offsetOf, type PageRequest } from '../../platform/http/pagination.ts';

export type CompanyRow = Selectable<CompaniesTable>;
/** Which rows a query sees: live (not deleted), in the trash, or both. */
export type RowState = 'live' | 'deleted' | 'any';

export interface CompanyValues {
  name: string;
  sort_name: string;
  external_id: string | null;
  doc: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
}

export interface CompanyFilter {
  state: RowState;
  /** Already a sort key (lower-case, accents stripped), matched as a substring of sort_name. */
  search?: string;
}

function scoped(scope: InstanceScope, db: Db, state: RowState) {
  const query = db.selectFrom('companies').where('instance_id', '=', scope.instanceId);
  if (state === 'live') return query.where('deleted_at', 'is', null);
  if (state === 'deleted') return query.where('deleted_at', 'is not', null);
  return query;
}

/** LIKE with its wildcards escaped, so a search for `50%` means those three characters. */
function containing(term: string) {
  const escaped = term.replace(/[\\%_]/g, (c) => `\\${c}`);
  return sql<boolean>`${sql.ref('sort_name')} like ${`%${escaped}%`} escape '\\'`;
}

function filtered(scope: InstanceScope, db: Db, filter: CompanyFilter) {
  const query = scoped(scope, db, filter.state);
  return filter.search ? query.where(containing(filter.search)) : query;
}

export async function insertCompany(
  scope: InstanceScope,
  db: Db,
  row: CompanyValues & { id: string; created_at: string },
): Promise<void> {
  await db
    .insertInto('companies')
    .values({ ...row, instance_id: scope.instanceId })
    .execute();
}

export function findCompany(
  scope: InstanceScope,
  db: Db,
  id: string,
  state: RowState = 'live',
): Promise<CompanyRow | undefined> {
  return scoped(scope, db, state).selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Writes `values` only if the row is still at `expected.version` (and in `expected.state`): the optimistic
 * concurrency check that decides which of two racing writers wins. Returns whether the row was written.
 */
export async function updateCompany(
  scope: InstanceScope,
  db: Db,
  expected: { id: string; version: number; state: RowState },
  values: CompanyValues,
): Promise<boolean> {
  let query = db
    .updateTable('companies')
    .set(values)
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', expected.id)
    .where('version', '=', expected.version);
  if (expected.state === 'live') query = query.where('deleted_at', 'is', null);
  if (expected.state === 'deleted') query = query.where('deleted_at', 'is not', null);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** One page in name order; id breaks ties so pages never overlap or skip. */
export function listCompanies(
  scope: InstanceScope,
  db: Db,
  filter: CompanyFilter,
  page: PageRequest,
): Promise<CompanyRow[]> {
  return filtered(scope, db, filter)
    .selectAll()
    .orderBy('sort_name')
    .orderBy('id')
    .limit(page.size)
    .offset(offsetOf(page))
    .execute();
}

export async function countCompanies(scope: InstanceScope, db: Db, filter: CompanyFilter): Promise<number> {
  const row = await filtered(scope, db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Names of the live companies among `ids` (at most a few hundred: callers pass one page of contacts). */
export function findLiveNames(
  scope: InstanceScope,
  db: Db,
  ids: readonly string[],
): Promise<Array<{ id: string; name: string }>> {
  if (ids.length === 0) return Promise.resolve([]);
  return scoped(scope, db, 'live')
    .select(['id', 'name'])
    .where('id', 'in', [...ids])
    .execute();
}

export type { Db };
