// Patients: Welkin's patient object stored as one JSON document per row, with the identifiers it is looked up
// and kept unique by copied into columns. Every change goes through the write path (one transaction, recorded).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { DB } from '../../db/schema.ts';
import { fromJson, toIso, toJson } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import { KithError } from '../../platform/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { checkIfMatch } from '../../platform/http/etag.ts';
import type { PageRequest } from '../../platform/http/pagination.ts';
import type { Actor, WriteContext, WriteTx, Writes } from '../../platform/writes.ts';
import { softDeleteContactsOfPatient } from '../contacts/contacts.repository.ts';
import { blankPatient, changesOf, type Changes } from './patients.document.ts';
import * as repo from './patients.repository.ts';
import type { LookupType, Patient, PatientCreate, PatientFilter, PatientPatch } from './patients.schemas.ts';

export interface PatientsServiceDeps {
  database: Database;
  writes: Writes;
  clock: Clock;
}

/** A patient and its version (the ETag). */
export interface VersionedPatient {
  patient: Patient;
  version: number;
}

const LOOKUP_COLUMN: Record<LookupType, repo.IdentifierColumn> = {
  ID: 'id',
  EID: 'external_id',
  EGUID: 'external_guid',
  MRN: 'mrn',
};

const UNIQUE_FIELDS = [
  ['mrn', 'mrn'],
  ['externalId', 'external_id'],
  ['externalGuid', 'external_guid'],
] as const;

const notFound = () => new KithError('NOT_FOUND', { message: 'Patient not found' });

function conflict(fields: string[]): KithError {
  return new KithError('CONFLICT', {
    message: `Another patient in this instance already has this ${fields.join(', ')}`,
    details: { fields: fields.map((field) => ({ field, message: 'is already used by another patient' })) },
  });
}

function toVersioned(row: repo.PatientRow): VersionedPatient {
  // Defaults first, so a document written before a field existed still renders every field.
  const doc = fromJson<Partial<Patient>>(row.doc);
  const patient = { ...blankPatient(), ...doc } as Patient;
  patient.id = row.id;
  patient.createdAt = toIso(row.created_at);
  patient.updatedAt = toIso(row.updated_at);
  return { patient, version: row.version };
}

function valuesOf(patient: Patient): repo.PatientValues {
  return {
    first_name: patient.firstName,
    last_name: patient.lastName,
    external_id: patient.externalId,
    external_guid: patient.externalGuid,
    mrn: patient.mrn,
    doc: toJson(patient),
    updated_at: patient.updatedAt,
  };
}

function stamped(patient: Patient, now: string, actor: Actor): Patient {
  return { ...patient, updatedAt: now, updatedBy: actor.id, updatedByName: actor.name };
}

const MAX_ATTEMPTS = 3;

/**
 * Reads the current row, checks If-Match against it and runs a write conditional on its version. When another
 * transaction changed the row in between, the write reports so (undefined) and the read is repeated, so If-Match
 * is judged against what is really there and a change without If-Match is applied to the latest version.
 */
async function onCurrent<T>(
  load: () => Promise<repo.PatientRow | undefined>,
  ifMatch: number[] | undefined,
  write: (row: repo.PatientRow) => Promise<T | undefined>,
): Promise<T> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const row = await load();
    if (!row) throw notFound();
    checkIfMatch(ifMatch, row.version);
    const result = await write(row);
    if (result !== undefined) return result;
  }
  throw new KithError('CONFLICT', { message: 'The patient is being changed concurrently; retry' });
}

export class PatientsService {
  constructor(private readonly deps: PatientsServiceDeps) {}

  async create(ctx: WriteContext, input: PatientCreate): Promise<VersionedPatient> {
    const changes = changesOf(input);
    return this.deps.writes.run(ctx, async (tx) => {
      const { actor, scope } = ctx;
      const patient: Patient = {
        ...blankPatient(),
        ...changes,
        id: randomUUID(),
        firstName: input.firstName,
        lastName: input.lastName,
        createdAt: tx.now,
        updatedAt: tx.now,
        createdBy: actor.id,
        updatedBy: actor.id,
        createdByName: actor.name,
        updatedByName: actor.name,
      };
      const identifiers = identifiersIn(patient);
      await assertUnique(tx, identifiers);
      try {
        await repo.insertPatient(scope, tx.db, { ...valuesOf(patient), id: patient.id, created_at: tx.now });
      } catch (error) {
        // A concurrent write took the identifier between the check above and this insert.
        if (isUniqueViolation(error)) throw conflict(identifiers.map((i) => i.field));
        throw error;
      }
      tx.record({ resource: 'patient', id: patient.id, action: 'created', after: patient });
      return { patient, version: 1 };
    });
  }

  async get(scope: InstanceScope, identifier: string, type: LookupType = 'ID'): Promise<VersionedPatient> {
    const row = await this.find(this.deps.database.db, scope, identifier, type);
    if (!row) throw notFound();
    return toVersioned(row);
  }

  async update(
    ctx: WriteContext,
    id: string,
    input: PatientPatch,
    ifMatch: number[] | undefined,
  ): Promise<VersionedPatient> {
    const changes = changesOf(input);
    return this.deps.writes.run(ctx, (tx) =>
      onCurrent(
        () => this.find(tx.db, ctx.scope, id, 'ID'),
        ifMatch,
        async (row) => {
          const current = toVersioned(row);
          const changed = Object.fromEntries(
            Object.entries(changes).filter(
              ([key, value]) => !isDeepStrictEqual(value, current.patient[key as keyof Patient]),
            ),
          ) as Changes;
          // Nothing to change (often a client sending back what it read): no new version, no event.
          if (Object.keys(changed).length === 0) return current;
          const patient = stamped({ ...current.patient, ...changed }, tx.now, ctx.actor);
          const identifiers = identifiersIn(changed);
          await assertUnique(tx, identifiers, row.id);
          let written: boolean;
          try {
            written = await repo.updatePatient(ctx.scope, tx.db, row.id, row.version, valuesOf(patient));
          } catch (error) {
            if (isUniqueViolation(error)) throw conflict(identifiers.map((i) => i.field));
            throw error;
          }
          if (!written) return undefined;
          tx.record({ resource: 'patient', id: row.id, action: 'updated', after: patient });
          return { patient, version: row.version + 1 };
        },
      ),
    );
  }

  /** Soft-deletes the patient and, in the same transaction, its contacts. */
  async remove(
    ctx: WriteContext,
    identifier: string,
    type: LookupType,
    ifMatch: number[] | undefined,
  ): Promise<void> {
    await this.deps.writes.run(ctx, (tx) =>
      onCurrent(
        () => this.find(tx.db, ctx.scope, identifier, type),
        ifMatch,
        async (row) => {
          if (!(await repo.softDeletePatient(ctx.scope, tx.db, row.id, row.version, tx.now)))
            return undefined;
          tx.record({ resource: 'patient', id: row.id, action: 'deleted', after: null });
          for (const id of await softDeleteContactsOfPatient(ctx.scope, tx.db, row.id, tx.now)) {
            tx.record({ resource: 'contact', id, action: 'deleted', after: null });
          }
          return true;
        },
      ),
    );
  }

  async list(
    scope: InstanceScope,
    filter: PatientFilter,
    page: PageRequest,
  ): Promise<{ items: Patient[]; total: number }> {
    const values = filterValuesOf(filter);
    const { db } = this.deps.database;
    const [rows, total] = await Promise.all([
      repo.listPatients(scope, db, values, page),
      repo.countPatients(scope, db, values),
    ]);
    return { items: rows.map((row) => toVersioned(row).patient), total };
  }

  private find(db: Kysely<DB>, scope: InstanceScope, identifier: string, type: LookupType) {
    const value = type === 'EGUID' ? identifier.toLowerCase() : identifier;
    return repo.findPatient(scope, db, LOOKUP_COLUMN[type], value);
  }
}

interface Identifier {
  field: (typeof UNIQUE_FIELDS)[number][0];
  column: repo.UniqueColumn;
  value: string;
}

/** The unique identifiers among `fields` that hold a value. */
function identifiersIn(fields: Changes): Identifier[] {
  return UNIQUE_FIELDS.flatMap(([field, column]) => {
    const value = fields[field];
    return value ? [{ field, column, value }] : [];
  });
}

/** Names the identifiers another live patient already holds (the unique indexes back this up under races). */
async function assertUnique(tx: WriteTx, identifiers: Identifier[], exceptId?: string): Promise<void> {
  const values = Object.fromEntries(identifiers.map((i) => [i.column, i.value]));
  const holders = await repo.findIdentifierHolders(tx.ctx.scope, tx.db, values, exceptId);
  const taken = identifiers.filter((i) => holders.some((h) => h[i.column] === i.value));
  if (taken.length > 0) throw conflict(taken.map((i) => i.field));
}

function filterValuesOf(filter: PatientFilter): repo.PatientFilterValues {
  // Empty and null filters mean "not filtered on" (query strings send `mrn=` for an unset value).
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const guid = text(filter.externalGuid);
  return {
    firstName: text(filter.firstName),
    lastName: text(filter.lastName),
    mrn: text(filter.mrn),
    externalId: text(filter.externalId),
    externalGuid: guid?.toLowerCase(),
  };
}
