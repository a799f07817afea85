// Companies: the organisations contacts work for. Checks what the schema cannot (blank names, duplicate tags,
// the size of customFields), keeps the stored document and its indexed columns in step, and makes every change
// through the shared write path with optimistic concurrency on `version`.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { fromJson, toIso, toJson } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import { invalidFields, KithError, type FieldProblem } from '../../platform/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { checkIfMatch } from '../../platform/http/etag.ts';
import type { PageRequest } from '../../platform/http/pagination.ts';
import type { ChangeAction, WriteContext, Writes, WriteTx } from '../../platform/writes.ts';
import { fold } from '../../platform/text.ts';
import * as repo from './companies.repository.ts';
import {
  LIMITS,
  type Address,
  type Company,
  type CompanyCreate,
  type CompanyPatch,
} from './companies.schemas.ts';

export interface CompaniesServiceDeps {
  database: Database;
  writes: Writes;
  clock: Clock;
}

export interface CompanyListRequest extends PageRequest {
  includeDeleted: boolean;
  onlyDeleted: boolean;
  search?: string | undefined;
}

export interface CompanyRef {
  id: string;
  name: string;
}

/** What the service accepts as If-Match: the versions a write may apply to, or undefined for any. */
export type IfMatch = number[] | undefined;

/** Without If-Match a write that loses a race is re-read and re-applied; this bounds how often. */
const MAX_ATTEMPTS = 5;
const RETRY = Symbol('retry');
/** Chunk size for id lists, far below both engines' limits on bound parameters. */
const ID_CHUNK = 500;

/** The byte-wise sort and search key of a name (see platform/text.ts). */
export const sortKey = fold;

type FieldIssue = FieldProblem;

// No id in the message: a company of another tenant and one that never existed must answer byte-identically.
const notFound = () => new KithError('NOT_FOUND', { message: 'Company not found' });

function externalIdTaken(externalId: string | null): KithError {
  return new KithError('CONFLICT', {
    message: 'externalId is already used by another company in this instance',
    details: {
      fields: [{ field: 'externalId', message: 'is already used by another company', value: externalId }],
    },
  });
}

type Editable = Pick<
  Company,
  'name' | 'domain' | 'phone' | 'address' | 'tags' | 'customFields' | 'externalId'
>;

/** Applies the rules the schema cannot express and normalizes what is stored; names every failing field. */
function normalize(fields: Editable): Editable {
  const issues: FieldIssue[] = [];
  const name = fields.name.trim();
  if (name === '') issues.push({ field: 'name', message: 'must not be blank' });
  const tags = fields.tags.map((t) => t.trim());
  tags.forEach((tag, i) => {
    const first = tags.indexOf(tag);
    if (tag === '') issues.push({ field: `tags[${i}]`, message: 'must not be blank' });
    else if (first < i) issues.push({ field: `tags[${i}]`, message: `duplicates tags[${first}]` });
  });
  if (Buffer.byteLength(toJson(fields.customFields)) > LIMITS.customFieldsBytes) {
    issues.push({
      field: 'customFields',
      message: `must not be larger than ${LIMITS.customFieldsBytes} bytes as JSON`,
    });
  }
  if (issues.length > 0) throw invalidFields(issues);
  return {
    ...fields,
    name,
    tags,
    // A trailing dot names the same host (`acme.com.`); hostnames compare case-insensitively.
    domain: fields.domain === null ? null : fields.domain.toLowerCase().replace(/\.$/, ''),
    address: fields.address === null ? null : withoutNulls(fields.address),
  };
}

function withoutNulls(address: Address): Address {
  return Object.fromEntries(Object.entries(address).filter(([, v]) => v !== null && v !== undefined));
}

/** The stored document holds the whole company; the columns, which queries and constraints see, win on read. */
function toCompany(row: repo.CompanyRow): Company {
  const doc = fromJson<Company>(row.doc);
  return {
    ...doc,
    id: row.id,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    deletedAt: row.deleted_at === null ? null : toIso(row.deleted_at),
    version: row.version,
  };
}

function columnsOf(company: Company): repo.CompanyValues {
  return {
    name: company.name,
    sort_name: sortKey(company.name),
    external_id: company.externalId,
    doc: toJson(company),
    updated_at: company.updatedAt,
    deleted_at: company.deletedAt,
    version: company.version,
  };
}

/** Runs a statement that may hit the live-externalId unique index, turning that violation into a 409. */
async function uniquely<T>(externalId: string | null, statement: Promise<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if (isUniqueViolation(error)) throw externalIdTaken(externalId);
    throw error;
  }
}

function sameFields(a: Editable, b: Editable): boolean {
  const pick = (c: Editable) =>
    toJson([c.name, c.domain, c.phone, c.address, c.tags, c.customFields, c.externalId]);
  return pick(a) === pick(b);
}

export class CompaniesService {
  constructor(private readonly deps: CompaniesServiceDeps) {}

  async create(ctx: WriteContext, input: CompanyCreate): Promise<Company> {
    const fields = normalize({
      name: input.name,
      domain: input.domain ?? null,
      phone: input.phone ?? null,
      address: input.address ?? null,
      tags: input.tags ?? [],
      customFields: input.customFields ?? {},
      externalId: input.externalId ?? null,
    });
    return this.deps.writes.run(ctx, async (tx) => {
      const company: Company = {
        id: randomUUID(),
        ...fields,
        createdAt: tx.now,
        updatedAt: tx.now,
        createdBy: ctx.actor.id,
        updatedBy: ctx.actor.id,
        deletedAt: null,
        version: 1,
      };
      await uniquely(
        company.externalId,
        repo.insertCompany(ctx.scope, tx.db, { ...columnsOf(company), id: company.id, created_at: tx.now }),
      );
      tx.record({ resource: 'company', id: company.id, action: 'created', after: company });
      return company;
    });
  }

  async get(scope: InstanceScope, id: string, options: { includeDeleted?: boolean } = {}): Promise<Company> {
    const state = options.includeDeleted ? 'any' : 'live';
    const row = await repo.findCompany(scope, this.deps.database.db, id, state);
    if (!row) throw notFound();
    return toCompany(row);
  }

  async list(
    scope: InstanceScope,
    request: CompanyListRequest,
  ): Promise<{ items: Company[]; total: number }> {
    const filter: repo.CompanyFilter = {
      state: request.onlyDeleted ? 'deleted' : request.includeDeleted ? 'any' : 'live',
      search: request.search === undefined ? undefined : sortKey(request.search.trim()),
    };
    const { db } = this.deps.database;
    const [rows, total] = await Promise.all([
      repo.listCompanies(scope, db, filter, request),
      repo.countCompanies(scope, db, filter),
    ]);
    return { items: rows.map(toCompany), total };
  }

  /** Partial update: absent fields are kept, null clears. A patch that changes nothing writes nothing. */
  update(ctx: WriteContext, id: string, patch: CompanyPatch, ifMatch: IfMatch): Promise<Company> {
    return this.change(ctx, id, 'live', ifMatch, (current) => {
      const fields = normalize({
        name: patch.name ?? current.name,
        domain: patch.domain === undefined ? current.domain : patch.domain,
        phone: patch.phone === undefined ? current.phone : patch.phone,
        address: patch.address === undefined ? current.address : patch.address,
        tags: patch.tags === undefined ? current.tags : (patch.tags ?? []),
        customFields: patch.customFields === undefined ? current.customFields : (patch.customFields ?? {}),
        externalId: patch.externalId === undefined ? current.externalId : patch.externalId,
      });
      return sameFields(fields, current)
        ? undefined
        : { action: 'updated', company: { ...current, ...fields } };
    });
  }

  /** Moves the company to the trash. Its contacts are left exactly as they are (see README.md). */
  remove(ctx: WriteContext, id: string, ifMatch: IfMatch): Promise<Company> {
    return this.change(ctx, id, 'live', ifMatch, (current, tx) => ({
      action: 'deleted',
      company: { ...current, deletedAt: tx.now },
    }));
  }

  /** Takes the company out of the trash; restoring a live company changes nothing. */
  restore(ctx: WriteContext, id: string, ifMatch: IfMatch): Promise<Company> {
    return this.change(ctx, id, 'any', ifMatch, (current) =>
      current.deletedAt === null
        ? undefined
        : { action: 'restored', company: { ...current, deletedAt: null } },
    );
  }

  /**
   * For the contacts module: the company, which must exist in `scope` and not be deleted. Pass the transaction
   * when calling from inside one: on SQLite a query outside it would wait for it to finish, forever.
   */
  async requireLive(
    scope: InstanceScope,
    id: string,
    db: repo.Db = this.deps.database.db,
  ): Promise<CompanyRef> {
    const row = await repo.findCompany(scope, db, id, 'live');
    if (!row) throw notFound();
    return { id: row.id, name: row.name };
  }

  /** For the contacts module: id → {id, name} of those of `ids` that are live companies in `scope`. */
  async findLiveByIds(
    scope: InstanceScope,
    ids: Iterable<string>,
    db: repo.Db = this.deps.database.db,
  ): Promise<Map<string, CompanyRef>> {
    const unique = [...new Set(ids)];
    const found = new Map<string, CompanyRef>();
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const rows = await repo.findLiveNames(scope, db, unique.slice(i, i + ID_CHUNK));
      for (const row of rows) found.set(row.id, { id: row.id, name: row.name });
    }
    return found;
  }

  /**
   * The read–check–write cycle shared by update, delete and restore. `apply` returns the next state, or
   * undefined when nothing changes. The write is conditional on the version read: with If-Match a lost race is
   * a 412 (the caller's ETag is stale by then); without it the change is re-read and re-applied.
   */
  private async change(
    ctx: WriteContext,
    id: string,
    state: repo.RowState,
    ifMatch: IfMatch,
    apply: (current: Company, tx: WriteTx) => { action: ChangeAction; company: Company } | undefined,
  ): Promise<Company> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const result = await this.deps.writes.run(ctx, async (tx) => {
        const row = await repo.findCompany(ctx.scope, tx.db, id, state);
        if (!row) throw notFound();
        const current = toCompany(row);
        checkIfMatch(ifMatch, current.version);
        const next = apply(current, tx);
        if (!next) return current;
        const company: Company = {
          ...next.company,
          updatedAt: tx.now,
          updatedBy: ctx.actor.id,
          version: current.version + 1,
        };
        const expected = { id, version: current.version, state };
        const written = await uniquely(
          company.externalId,
          repo.updateCompany(ctx.scope, tx.db, expected, columnsOf(company)),
        );
        if (!written) {
          if (ifMatch !== undefined) throw new KithError('PRECONDITION_FAILED');
          return RETRY;
        }
        tx.record({ resource: 'company', id, action: next.action, after: company });
        return company;
      });
      if (result !== RETRY) return result;
    }
    throw new KithError('CONFLICT', { message: 'The company kept changing concurrently; retry the request' });
  }
}
