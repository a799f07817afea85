// SQL for contacts. Every function takes the instance scope first and filters on it; reads skip soft-deleted rows
// unless asked. Search matching is delegated to db/search.ts (the engines differ there).
import { sql, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Db, Engine } from '../../db/database.ts';
import type { ContactsTable, DB } from '../../db/schema.ts';
import { indexContact, matches, searchColumn, unindexContact } from '../../db/search.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { companyClauses, type SearchQuery } from './contacts.search.ts';

/** A contact row as the reads return it (the engine-specific search columns left out). */
export type ContactRow = Omit<Selectable<ContactsTable>, 'seq' | 'search' | 'instance_id'>;

/** Everything a write sets on a contact row besides its identity and timestamps. */
export type ContactValues = Omit<
  ContactRow,
  'id' | 'created_at' | 'updated_at' | 'deleted_at' | 'version'
> & {
  doc: string;
};

const COLUMNS = [
  'contacts.id',
  'contacts.patient_id',
  'contacts.company_id',
  'contacts.relationship',
  'contacts.is_primary',
  'contacts.source',
  'contacts.external_id',
  'contacts.sort_name',
  'contacts.sort_last',
  'contacts.sort_company',
  'contacts.doc',
  'contacts.created_at',
  'contacts.updated_at',
  'contacts.deleted_at',
  'contacts.version',
] as const;

/** The same columns as a write's RETURNING list (the written row comes back without another read). */
type Column = (typeof COLUMNS)[number] extends `contacts.${infer C}` ? C : never;
const RETURNED = COLUMNS.map((c) => c.slice('contacts.'.length) as Column);

export async function insertContact(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  row: ContactValues & { id: string; now: string },
  tags: string[],
  terms: string[],
): Promise<ContactRow> {
  const { now, ...values } = row;
  const contact = {
    ...values,
    instance_id: scope.instanceId,
    created_at: now,
    updated_at: now,
    deleted_at: null,
    version: 1,
  };
  if (engine === 'postgres') {
    // The row and its tags in one statement: on PostgreSQL every statement is a round trip to the server (SQLite
    // runs in process). The tags' foreign key is checked at the end of the statement, when the contact is in.
    const taggedInsert =
      tags.length === 0
        ? db
        : db.with('tagged', (q) => q.insertInto('contact_tags').values(tagRows(scope, row.id, tags)));
    return taggedInsert
      .insertInto('contacts')
      .values({ ...contact, search: searchColumn(engine, terms) })
      .returning(RETURNED)
      .executeTakeFirstOrThrow();
  }
  const inserted = await db
    .insertInto('contacts')
    .values(contact)
    .returning([...RETURNED, 'seq'])
    .executeTakeFirstOrThrow();
  // A new contact has no tags to replace.
  if (tags.length > 0) await insertTags(scope, db, row.id, tags);
  await indexContact(db, engine, { seq: inserted.seq, instanceId: scope.instanceId }, terms);
  return withoutSeq(inserted);
}

function withoutSeq<T extends { seq?: number }>(row: T): Omit<T, 'seq'> {
  const { seq: _seq, ...rest } = row;
  return rest;
}

/** What a contact row holds besides its identity: its values, tags and search terms. */
export interface ContactContent<V = ContactValues> {
  values: V;
  tags: string[];
  terms: string[];
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Updates a contact only if it is still at `version`; returns false when another write got there first. Only
 * what differs from `before` is written: an unchanged column leaves its indexes alone, and unchanged tags and
 * search terms are not rewritten (measured: a PATCH of one field cost 3× less on SQLite, most of it in commit).
 */
export async function updateContact(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  id: string,
  version: number,
  now: string,
  after: ContactContent,
  before: ContactContent<Omit<ContactValues, 'doc'>>,
): Promise<ContactRow | undefined> {
  const changed: Partial<ContactValues> = { doc: after.values.doc };
  for (const key of Object.keys(before.values) as Array<keyof typeof before.values>) {
    if (after.values[key] !== before.values[key]) Object.assign(changed, { [key]: after.values[key] });
  }
  const termsChanged = !sameList(after.terms, before.terms);
  const updated = await db
    .updateTable('contacts')
    .set({
      ...changed,
      updated_at: now,
      version: version + 1,
      ...(engine === 'postgres' && termsChanged ? { search: searchColumn(engine, after.terms) } : {}),
    })
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returning([...RETURNED, ...(engine === 'sqlite' ? (['seq'] as const) : [])])
    .executeTakeFirst();
  if (!updated) return undefined;
  if (!sameList(after.tags, before.tags)) await replaceTags(scope, db, id, after.tags);
  if (engine === 'sqlite' && termsChanged) {
    await indexContact(db, engine, { seq: updated.seq, instanceId: scope.instanceId }, after.terms);
  }
  return withoutSeq(updated);
}

/** Sets or clears deleted_at at `version`; false when the version moved on. */
export async function setDeleted(
  scope: InstanceScope,
  db: Db,
  id: string,
  version: number,
  deletedAt: string | null,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('contacts')
    .set({ deleted_at: deletedAt, updated_at: now, version: version + 1 })
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function purgeContact(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  id: string,
  version: number,
) {
  const deleted = await db
    .deleteFrom('contacts')
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returning(engine === 'sqlite' ? ['seq'] : ['id'])
    .executeTakeFirst();
  if (deleted && engine === 'sqlite') await unindexContact(db, engine, (deleted as { seq: number }).seq);
  return deleted !== undefined;
}

async function replaceTags(scope: InstanceScope, db: Db, contactId: string, tags: string[]) {
  await db.deleteFrom('contact_tags').where('contact_id', '=', contactId).execute();
  if (tags.length > 0) await insertTags(scope, db, contactId, tags);
}

async function insertTags(scope: InstanceScope, db: Db, contactId: string, tags: string[]) {
  await db
    .insertInto('contact_tags')
    .values(tagRows(scope, contactId, tags))
    .execute();
}

const tagRows = (scope: InstanceScope, contactId: string, tags: string[]) =>
  tags.map((tag) => ({ contact_id: contactId, instance_id: scope.instanceId, tag }));

export function findContact(
  scope: InstanceScope,
  db: Db,
  id: string,
  options: { includeDeleted?: boolean } = {},
) {
  let query = db
    .selectFrom('contacts')
    .select(COLUMNS)
    .where('contacts.instance_id', '=', scope.instanceId)
    .where('contacts.id', '=', id);
  if (!options.includeDeleted) query = query.where('contacts.deleted_at', 'is', null);
  return query.executeTakeFirst();
}

/** Clears the primary flag of the owner's other live contacts (before one of them becomes primary). */
export async function clearPrimary(
  scope: InstanceScope,
  db: Db,
  owner: { column: 'patient_id' | 'company_id'; id: string },
  exceptId: string,
  now: string,
  bool: (value: boolean) => boolean | number,
): Promise<string[]> {
  const rows = await db
    .updateTable('contacts')
    .set((eb) => ({ is_primary: bool(false), updated_at: now, version: eb('version', '+', 1) }))
    .where('instance_id', '=', scope.instanceId)
    .where(owner.column, '=', owner.id)
    .where('id', '!=', exceptId)
    .where('is_primary', '=', bool(true))
    .where('deleted_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function findContactsByIds(scope: InstanceScope, db: Db, ids: string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('contacts')
    .select(COLUMNS)
    .where('contacts.instance_id', '=', scope.instanceId)
    .where('contacts.id', 'in', ids)
    .execute();
}

/**
 * Soft-deletes every live contact of a patient (the patient is being deleted) and returns their ids, so the
 * caller can record one change per contact.
 */
export async function softDeleteContactsOfPatient(
  scope: InstanceScope,
  db: Db,
  patientId: string,
  now: string,
): Promise<string[]> {
  const rows = await db
    .updateTable('contacts')
    .set((eb) => ({ deleted_at: now, updated_at: now, version: eb('version', '+', 1) }))
    .where('instance_id', '=', scope.instanceId)
    .where('patient_id', '=', patientId)
    .where('deleted_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

// ---- listing ---------------------------------------------------------------------------------------------------

export const SORT_COLUMNS = {
  displayName: 'sort_name',
  lastName: 'sort_last',
  company: 'sort_company',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const;

export interface ListFilter {
  search?: SearchQuery;
  tags?: string[];
  /** Words the company name must have words starting with (case and accents ignored). */
  companyWords?: string[];
  source?: string;
  patientId?: string;
  companyId?: string;
  relationship?: string;
  updatedSince?: string;
  trash: 'exclude' | 'include' | 'only';
}

export interface ListOrder {
  column: (typeof SORT_COLUMNS)[keyof typeof SORT_COLUMNS];
  direction: 'asc' | 'desc';
  /** Keyset position: rows strictly after (value, id) in this order. */
  after?: { value: string; id: string };
}

/**
 * How tag filters join: `in` reads each tag's contacts from (instance_id, tag) and looks each one up, cost
 * proportional to how many contacts have the tag; `exists` walks the sort order's index and checks each contact's
 * tags, cost proportional to how far it must walk to fill the page. The first suits rare tags, the second common
 * ones; the service picks (SQLite's planner cannot: it always keeps the form it is given). `join` streams each
 * tag's contacts without collecting them first: the cheapest way to count up to a cap (1 ms where `in` took 4).
 */
export type TagForm = 'in' | 'exists' | 'join';

function filtered(scope: InstanceScope, db: Db, engine: Engine, filter: ListFilter, tagForm: TagForm = 'in') {
  let q: SelectQueryBuilder<DB, 'contacts', object> = db
    .selectFrom('contacts')
    .where('contacts.instance_id', '=', scope.instanceId);
  if (filter.trash === 'exclude') q = q.where('contacts.deleted_at', 'is', null);
  if (filter.trash === 'only') q = q.where('contacts.deleted_at', 'is not', null);
  // The search and the company filter are both answered by the full-text index, in one match.
  const clauses = [...(filter.search ?? []), ...companyClauses(filter.companyWords ?? [])];
  if (clauses.length > 0) q = q.where(matches(engine, scope.instanceId, clauses));
  for (const [i, tag] of (filter.tags ?? []).entries()) {
    if (tagForm === 'join') {
      // (contact_id, tag) is the key: a join on it never repeats a contact.
      const t = `t${i}` as 't';
      q = q.innerJoin(`contact_tags as ${t}`, (join) =>
        join
          .onRef(`${t}.contact_id`, '=', 'contacts.id')
          .on(`${t}.instance_id`, '=', scope.instanceId)
          .on(`${t}.tag`, '=', tag),
      );
      continue;
    }
    q =
      tagForm === 'in'
        ? q.where(
            'contacts.id',
            'in',
            db
              .selectFrom('contact_tags')
              .select('contact_tags.contact_id')
              .where('contact_tags.instance_id', '=', scope.instanceId)
              .where('contact_tags.tag', '=', tag),
          )
        : q.where((eb) =>
            eb.exists(
              eb
                .selectFrom('contact_tags')
                .select(sql`1`.as('one'))
                .whereRef('contact_tags.contact_id', '=', 'contacts.id')
                .where('contact_tags.tag', '=', tag),
            ),
          );
  }
  if (filter.source !== undefined) q = q.where('contacts.source', '=', filter.source);
  if (filter.patientId !== undefined) q = q.where('contacts.patient_id', '=', filter.patientId);
  if (filter.companyId !== undefined) q = q.where('contacts.company_id', '=', filter.companyId);
  if (filter.relationship !== undefined) q = q.where('contacts.relationship', '=', filter.relationship);
  if (filter.updatedSince !== undefined) q = q.where('contacts.updated_at', '>=', filter.updatedSince);
  return q;
}

/** Whether the full-text index answers part of the filter (a search, or the company filter). */
export const hasTextMatch = (filter: ListFilter) =>
  (filter.search?.length ?? 0) > 0 || (filter.companyWords?.length ?? 0) > 0;

export function listContacts(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  filter: ListFilter,
  order: ListOrder,
  page: { limit: number; offset: number },
  tagForm: TagForm = 'in',
) {
  const column = `contacts.${order.column}` as const;
  let matching = filtered(scope, db, engine, filter, tagForm);
  if (engine === 'postgres' && hasTextMatch(filter)) {
    // PostgreSQL cannot estimate how many rows a text query matches (it guessed 625 for a phone number two
    // contacts have), so with a LIMIT it walked the sort index, testing all 47,000 contacts of the instance
    // (80 ms). OFFSET 0 fences the match off as a subquery: the GIN index finds the matches, then they are sorted.
    matching = db.selectFrom(matching.selectAll('contacts').offset(0).as('contacts'));
  }
  let q = matching.select(COLUMNS);
  if (order.after) {
    const { value, id } = order.after;
    const cmp = order.direction === 'asc' ? '>' : '<';
    q = q.where((eb) =>
      eb.or([eb(column, cmp, value), eb.and([eb(column, '=', value), eb('contacts.id', cmp, id)])]),
    );
  }
  return q
    .orderBy(column, order.direction)
    .orderBy('contacts.id', order.direction)
    .limit(page.limit)
    .offset(page.offset)
    .execute();
}

/** Counts matching rows, stopping at `cap + 1` so a count never costs more than reading that many index entries. */
export async function countContacts(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  filter: ListFilter,
  cap: number,
): Promise<number> {
  const inner = filtered(scope, db, engine, filter, 'join')
    .select(sql`1`.as('one'))
    .limit(cap + 1);
  const row = await db
    .selectFrom(inner.as('capped'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How many contacts of the instance have `tag`, counting no further than `cap` (a covering-index range). */
export async function countTagged(scope: InstanceScope, db: Db, tag: string, cap: number): Promise<number> {
  const inner = db
    .selectFrom('contact_tags')
    .select(sql`1`.as('one'))
    .where('instance_id', '=', scope.instanceId)
    .where('tag', '=', tag)
    .limit(cap);
  const row = await db
    .selectFrom(inner.as('capped'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The instance's live contacts (a full index range: the caller caches it). */
export async function countLive(scope: InstanceScope, db: Db): Promise<number> {
  const row = await db
    .selectFrom('contacts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_id', '=', scope.instanceId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** PostgreSQL's planner estimate of the matching rows (cheap; used when the exact count passes the cap). */
export async function estimateContacts(scope: InstanceScope, db: Db, engine: Engine, filter: ListFilter) {
  const compiled = filtered(scope, db, engine, filter)
    .select(sql`1`.as('one'))
    .compile();
  const result = await sql<{
    'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }>;
  }>`explain (format json) ${sql.raw(
    compiled.sql.replace(/\$(\d+)/g, (_, n: string) => literal(compiled.parameters[Number(n) - 1])),
  )}`.execute(db);
  return result.rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0;
}

/** EXPLAIN cannot take bind parameters, so values are inlined as quoted literals (strings and numbers only). */
function literal(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** Reference checks inside a write: the patient or company a contact points at must be live in the scope. */
export function findLivePatientId(scope: InstanceScope, db: Db, id: string) {
  return db
    .selectFrom('patients')
    .select('id')
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}
