// SQL for patients. Every function takes the instance scope first, filters on it, and sees only live (not
// deleted) rows. Writes are conditional on the version read, so a concurrent change is detected, never lost.
import type { Db } from '../../db/database.ts';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { DB } from '../../db/schema.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { offsetOf, type PageRequest } from '../../platform/http/pagination.ts';

/** The columns a patient can be looked up by. */
export type IdentifierColumn = 'id' | 'external_id' | 'external_guid' | 'mrn';
export type UniqueColumn = Exclude<IdentifierColumn, 'id'>;

export interface PatientRow {
  id: string;
  doc: unknown;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
}

/** What a write sets besides the identity of the row: the document and the columns indexed from it. */
export interface PatientValues {
  first_name: string;
  last_name: string;
  external_id: string | null;
  external_guid: string | null;
  mrn: string | null;
  /** The whole patient document, as JSON text. */
  doc: string;
  updated_at: string;
}

/** List filters, already normalised by the service; undefined means "not filtered on". */
export interface PatientFilterValues {
  firstName?: string;
  lastName?: string;
  mrn?: string;
  externalId?: string;
  externalGuid?: string;
}

const ROW = ['id', 'doc', 'version', 'created_at', 'updated_at'] as const;

function live(eb: ExpressionBuilder<DB, 'patients'>, scope: InstanceScope) {
  return eb.and([eb('instance_id', '=', scope.instanceId), eb('deleted_at', 'is', null)]);
}

export function findPatient(
  scope: InstanceScope,
  db: Db,
  column: IdentifierColumn,
  value: string,
): Promise<PatientRow | undefined> {
  return db
    .selectFrom('patients')
    .select(ROW)
    .where((eb) => live(eb, scope))
    .where(column, '=', value)
    .executeTakeFirst();
}

export async function insertPatient(
  scope: InstanceScope,
  db: Db,
  row: PatientValues & { id: string; created_at: string },
): Promise<void> {
  await db
    .insertInto('patients')
    .values({ ...row, instance_id: scope.instanceId, deleted_at: null, version: 1 })
    .execute();
}

/** Applies the change only if the row is still at `version`; false when it was changed or deleted meanwhile. */
export async function updatePatient(
  scope: InstanceScope,
  db: Db,
  id: string,
  version: number,
  values: PatientValues,
): Promise<boolean> {
  const result = await db
    .updateTable('patients')
    .set({ ...values, version: version + 1 })
    .where((eb) => live(eb, scope))
    .where('id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Soft-deletes the row only if it is still at `version`; false otherwise. */
export async function softDeletePatient(
  scope: InstanceScope,
  db: Db,
  id: string,
  version: number,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('patients')
    .set({ deleted_at: now, updated_at: now, version: version + 1 })
    .where((eb) => live(eb, scope))
    .where('id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Live patients other than `exceptId` holding any of the given unique identifiers, so the service can name the
 * field that conflicts (the unique indexes only say that something did).
 */
export async function findIdentifierHolders(
  scope: InstanceScope,
  db: Db,
  values: Partial<Record<UniqueColumn, string>>,
  exceptId?: string,
): Promise<Array<Record<UniqueColumn, string | null>>> {
  const given = Object.entries(values).filter((e): e is [UniqueColumn, string] => e[1] !== undefined);
  if (given.length === 0) return [];
  let query = db
    .selectFrom('patients')
    .select(['external_id', 'external_guid', 'mrn'])
    .where((eb) => live(eb, scope))
    .where((eb) => eb.or(given.map(([column, value]) => eb(column, '=', value))));
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  return query.execute();
}

/** `%term%` for LIKE, with the wildcards in the term escaped (the escape character is `!`). */
function contains(term: string): string {
  return `%${term.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

function matching(eb: ExpressionBuilder<DB, 'patients'>, scope: InstanceScope, filter: PatientFilterValues) {
  const conditions: Array<Expression<SqlBool>> = [live(eb, scope)];
  const like = (column: 'first_name' | 'last_name', term: string) =>
    sql<boolean>`lower(${eb.ref(column)}) like ${contains(term)} escape '!'`;
  if (filter.firstName !== undefined) conditions.push(like('first_name', filter.firstName));
  if (filter.lastName !== undefined) conditions.push(like('last_name', filter.lastName));
  if (filter.mrn !== undefined) conditions.push(eb('mrn', '=', filter.mrn));
  if (filter.externalId !== undefined) conditions.push(eb('external_id', '=', filter.externalId));
  if (filter.externalGuid !== undefined) conditions.push(eb('external_guid', '=', filter.externalGuid));
  return eb.and(conditions);
}

/** One page, oldest first; id breaks ties so pages never overlap or skip. */
export function listPatients(
  scope: InstanceScope,
  db: Db,
  filter: PatientFilterValues,
  page: PageRequest,
): Promise<PatientRow[]> {
  return db
    .selectFrom('patients')
    .select(ROW)
    .where((eb) => matching(eb, scope, filter))
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.size)
    .offset(offsetOf(page))
    .execute();
}

export async function countPatients(
  scope: InstanceScope,
  db: Db,
  filter: PatientFilterValues,
): Promise<number> {
  const row = await db
    .selectFrom('patients')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => matching(eb, scope, filter))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
