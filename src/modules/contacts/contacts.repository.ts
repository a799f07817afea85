// SQL for contacts. Every function takes the instance scope first and filters on it.
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/schema.ts';
import type { InstanceScope } from '../../platform/http/context.ts';

type Db = Kysely<DB> | Transaction<DB>;

/**
 * Soft-deletes every live contact of a patient (the patient is being deleted) and returns their ids, so the
 * caller can record one change per contact.
 */
export async function softDeleteContactsOfPatient(
  db: Db,
  scope: InstanceScope,
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
