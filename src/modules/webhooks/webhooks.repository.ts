// SQL for webhook endpoints and the delivery log. Functions serving a request take the instance (or tenant)
// scope first; the dispatcher's queue functions (webhooks.queue.ts) work across instances, as a worker must.
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { WebhookAttemptsTable, WebhookEndpointsTable } from '../../db/schema.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { offsetOf, type PageRequest } from '../../platform/http/pagination.ts';

export type EndpointRow = Selectable<WebhookEndpointsTable>;
export type AttemptRow = Selectable<WebhookAttemptsTable>;
export type EndpointValues = Omit<Updateable<WebhookEndpointsTable>, 'id' | 'tenant_id' | 'instance_id'>;

/** The tenant-level scope of the delivery log: a client sees only the instances granted to it. */
export interface TenantScope {
  tenantId: string;
  instanceIds: readonly string[];
}

function endpoints(scope: InstanceScope, db: Db) {
  return db.selectFrom('webhook_endpoints').where('instance_id', '=', scope.instanceId);
}

export async function insertEndpoint(
  scope: InstanceScope,
  db: Db,
  row: Omit<Insertable<WebhookEndpointsTable>, 'tenant_id' | 'instance_id'>,
): Promise<void> {
  await db
    .insertInto('webhook_endpoints')
    .values({ ...row, tenant_id: scope.tenantId, instance_id: scope.instanceId })
    .execute();
}

export function findEndpoint(scope: InstanceScope, db: Db, id: string): Promise<EndpointRow | undefined> {
  return endpoints(scope, db).selectAll().where('id', '=', id).executeTakeFirst();
}

export function listEndpoints(scope: InstanceScope, db: Db, page: PageRequest): Promise<EndpointRow[]> {
  return endpoints(scope, db)
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.size)
    .offset(offsetOf(page))
    .execute();
}

export async function countEndpoints(scope: InstanceScope, db: Db): Promise<number> {
  const row = await endpoints(scope, db)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function updateEndpoint(
  scope: InstanceScope,
  db: Db,
  id: string,
  values: EndpointValues,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set(values)
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Deletes the endpoint and its queue; its attempts stay in the delivery log. */
export async function deleteEndpoint(scope: InstanceScope, db: Db, id: string): Promise<boolean> {
  await db
    .deleteFrom('webhook_deliveries')
    .where('instance_id', '=', scope.instanceId)
    .where('endpoint_id', '=', id)
    .execute();
  const result = await db
    .deleteFrom('webhook_endpoints')
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/** The instance's last event sequence number (0 before its first event). */
export async function lastSequence(scope: InstanceScope, db: Db): Promise<number> {
  const row = await db
    .selectFrom('event_sequences')
    .select('last_seq')
    .where('instance_id', '=', scope.instanceId)
    .executeTakeFirst();
  return Number(row?.last_seq ?? 0);
}

export interface EventRef {
  id: string;
  seq: number;
  type: string;
  resource_id: string;
}

export function findEvent(scope: InstanceScope, db: Db, id: string): Promise<EventRef | undefined> {
  return db
    .selectFrom('events')
    .select(['id', 'seq', 'type', 'resource_id'])
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Events of the instance that occurred in [since, until), of the given types, in sequence order. */
export function eventsBetween(
  scope: InstanceScope,
  db: Db,
  range: { since: string; until: string; types: readonly string[]; limit: number },
): Promise<EventRef[]> {
  return db
    .selectFrom('events')
    .select(['id', 'seq', 'type', 'resource_id'])
    .where('instance_id', '=', scope.instanceId)
    .where('occurred_at', '>=', range.since)
    .where('occurred_at', '<', range.until)
    .where('type', 'in', [...range.types])
    .orderBy('seq')
    .limit(range.limit)
    .execute();
}

export interface AttemptFilter {
  instanceIds: readonly string[];
  status?: string | undefined;
  endpointId?: string | undefined;
  eventId?: string | undefined;
  eventType?: string | undefined;
  dateStart?: string | undefined;
  dateEnd?: string | undefined;
}

function attempts(scope: TenantScope, db: Db, filter: AttemptFilter) {
  let query = db
    .selectFrom('webhook_attempts as a')
    .where('a.tenant_id', '=', scope.tenantId)
    .where('a.instance_id', 'in', [...filter.instanceIds]);
  if (filter.status !== undefined) query = query.where('a.status', '=', filter.status);
  if (filter.endpointId !== undefined) query = query.where('a.endpoint_id', '=', filter.endpointId);
  if (filter.eventId !== undefined) query = query.where('a.event_id', '=', filter.eventId);
  if (filter.eventType !== undefined) query = query.where('a.event_type', '=', filter.eventType);
  if (filter.dateStart !== undefined) query = query.where('a.attempted_at', '>=', filter.dateStart);
  if (filter.dateEnd !== undefined) query = query.where('a.attempted_at', '<', filter.dateEnd);
  return query;
}

/** One page of the delivery log, newest first. */
export function listAttempts(scope: TenantScope, db: Db, filter: AttemptFilter, page: PageRequest) {
  return attempts(scope, db, filter)
    .innerJoin('instances as i', 'i.id', 'a.instance_id')
    .selectAll('a')
    .select('i.name as instance')
    .orderBy('a.attempted_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(page.size)
    .offset(offsetOf(page))
    .execute();
}

export async function countAttempts(scope: TenantScope, db: Db, filter: AttemptFilter): Promise<number> {
  const row = await attempts(scope, db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertAttempts(db: Db, rows: Insertable<WebhookAttemptsTable>[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('webhook_attempts').values(rows).execute();
}
