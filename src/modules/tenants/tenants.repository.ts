// SQL for tenants and instances. These are the roots of scope, so they are looked up by name, not by scope.
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import type { InstanceScope } from '../../platform/http/context.ts';

export function findTenantByName(db: Kysely<DB>, name: string) {
  return db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
}

export function countTenants(db: Kysely<DB>) {
  return db
    .selectFrom('tenants')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
}

export async function insertTenant(db: Kysely<DB>, row: { id: string; name: string; created_at: string }) {
  await db.insertInto('tenants').values(row).execute();
}

export async function insertInstance(
  db: Kysely<DB>,
  row: { id: string; tenant_id: string; name: string; created_at: string; phone_region: string },
) {
  await db.insertInto('instances').values(row).execute();
}

export function listInstances(db: Kysely<DB>, tenantId: string) {
  return db.selectFrom('instances').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
}

export function findInstance(db: Kysely<DB>, scope: InstanceScope) {
  return db
    .selectFrom('instances')
    .selectAll()
    .where('tenant_id', '=', scope.tenantId)
    .where('id', '=', scope.instanceId)
    .executeTakeFirst();
}

/** An instance by tenant and instance name, with its tenant's id and name. */
export function findInstanceByNames(db: Kysely<DB>, tenantName: string, instanceName: string) {
  return db
    .selectFrom('instances')
    .innerJoin('tenants', 'tenants.id', 'instances.tenant_id')
    .select([
      'instances.id',
      'instances.name',
      'instances.phone_region',
      'instances.public_intake',
      'tenants.id as tenant_id',
      'tenants.name as tenant_name',
    ])
    .where('tenants.name', '=', tenantName)
    .where('instances.name', '=', instanceName)
    .executeTakeFirst();
}

export async function setPublicIntake(
  db: Kysely<DB>,
  tenantId: string,
  instanceName: string,
  value: boolean | number,
): Promise<boolean> {
  const result = await db
    .updateTable('instances')
    .set({ public_intake: value })
    .where('tenant_id', '=', tenantId)
    .where('name', '=', instanceName)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
