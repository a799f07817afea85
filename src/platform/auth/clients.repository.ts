// SQL for API clients and security policies. Every function but the token lookup (which finds a client by its
// globally unique key) is scoped by tenant id first.
import type { Db } from '../../db/database.ts';

export interface NewClientRow {
  id: string;
  tenant_id: string;
  key: string;
  name: string;
  secret_hash: string;
  policy: string;
  enabled: boolean | number;
  created_at: string;
  updated_at: string;
}

export async function insertClient(db: Db, row: NewClientRow, instanceIds: readonly string[]) {
  await db.insertInto('api_clients').values(row).execute();
  if (instanceIds.length > 0) {
    await db
      .insertInto('api_client_instances')
      .values(instanceIds.map((instance_id, position) => ({ client_id: row.id, instance_id, position })))
      .execute();
  }
}

/** The token route's lookup: by key alone, with the tenant's name. */
export function findClientByKey(db: Db, key: string) {
  return db
    .selectFrom('api_clients')
    .innerJoin('tenants', 'tenants.id', 'api_clients.tenant_id')
    .select([
      'api_clients.id',
      'api_clients.key',
      'api_clients.secret_hash',
      'api_clients.secret_version',
      'api_clients.enabled',
      'tenants.name as tenant_name',
    ])
    .where('api_clients.key', '=', key)
    .executeTakeFirst();
}

/** Everything a request needs to know about its client, for the authenticator's short-lived cache. */
export async function findClientState(db: Db, clientId: string) {
  const client = await db
    .selectFrom('api_clients')
    .innerJoin('tenants', 'tenants.id', 'api_clients.tenant_id')
    .select([
      'api_clients.id',
      'api_clients.key',
      'api_clients.name',
      'api_clients.tenant_id',
      'api_clients.secret_version',
      'api_clients.policy',
      'api_clients.enabled',
      'tenants.name as tenant_name',
    ])
    .where('api_clients.id', '=', clientId)
    .executeTakeFirst();
  if (!client) return undefined;
  const [instances, policy] = await Promise.all([
    listClientInstances(db, client.tenant_id, [client.id]),
    findPolicy(db, client.tenant_id, client.policy),
  ]);
  return { client, instances, policy };
}

export function listClients(db: Db, tenantId: string) {
  return db
    .selectFrom('api_clients')
    .select(['id', 'key', 'name', 'policy', 'enabled', 'secret_version', 'created_at', 'updated_at'])
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .orderBy('key')
    .execute();
}

export function listClientInstances(db: Db, tenantId: string, clientIds: readonly string[]) {
  return db
    .selectFrom('api_client_instances')
    .innerJoin('instances', 'instances.id', 'api_client_instances.instance_id')
    .select(['api_client_instances.client_id', 'instances.id', 'instances.name', 'instances.phone_region'])
    .where('instances.tenant_id', '=', tenantId)
    .where('api_client_instances.client_id', 'in', clientIds)
    .orderBy('api_client_instances.position')
    .execute();
}

export async function setClientEnabled(
  db: Db,
  tenantId: string,
  key: string,
  enabled: boolean | number,
  at: string,
) {
  const result = await db
    .updateTable('api_clients')
    .set({ enabled, updated_at: at })
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Replaces the secret and bumps its version, which invalidates every token issued under the old one. */
export async function replaceClientSecret(
  db: Db,
  tenantId: string,
  key: string,
  secretHash: string,
  at: string,
) {
  const result = await db
    .updateTable('api_clients')
    .set((eb) => ({ secret_hash: secretHash, secret_version: eb('secret_version', '+', 1), updated_at: at }))
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Puts one granted instance before the others (the client's default). False when it is not granted. */
export async function moveInstanceFirst(db: Db, tenantId: string, clientId: string, instance: string) {
  const granted = await db
    .selectFrom('api_client_instances')
    .innerJoin('instances', 'instances.id', 'api_client_instances.instance_id')
    .select('instances.id')
    .where('instances.tenant_id', '=', tenantId)
    .where('api_client_instances.client_id', '=', clientId)
    .where('instances.name', '=', instance)
    .executeTakeFirst();
  if (!granted) return false;
  const first = await db
    .selectFrom('api_client_instances')
    .select((eb) => eb.fn.min('position').as('position'))
    .where('client_id', '=', clientId)
    .executeTakeFirstOrThrow();
  await db
    .updateTable('api_client_instances')
    .set({ position: Number(first.position) - 1 })
    .where('client_id', '=', clientId)
    .where('instance_id', '=', granted.id)
    .execute();
  return true;
}

export function findClientId(db: Db, tenantId: string, key: string) {
  return db
    .selectFrom('api_clients')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('key', '=', key)
    .executeTakeFirst();
}

export function findPolicy(db: Db, tenantId: string, name: string) {
  return db
    .selectFrom('security_policies')
    .select(['name', 'grants', 'companies'])
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export async function upsertPolicy(
  db: Db,
  tenantId: string,
  row: { id: string; name: string; grants: string; companies: string | null; at: string },
) {
  await db
    .insertInto('security_policies')
    .values({
      id: row.id,
      tenant_id: tenantId,
      name: row.name,
      grants: row.grants,
      companies: row.companies,
      created_at: row.at,
      updated_at: row.at,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'name'])
        .doUpdateSet({ grants: row.grants, companies: row.companies, updated_at: row.at }),
    )
    .execute();
}

export function listClientInstancesByName(db: Db, tenantId: string, names: readonly string[]) {
  if (names.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('instances')
    .select(['id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where('name', 'in', names)
    .execute();
}

export type { Db };
