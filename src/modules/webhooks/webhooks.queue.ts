// SQL of the delivery queue, used by the dispatcher across every instance. Two steps, each safe with any number
// of nodes on one database:
//  - fan-out: an endpoint's new events become deliveries and its cursor moves past them, in one transaction on
//    the endpoint's row, which other nodes skip while it is locked (and a unique index backs that up);
//  - claim: due deliveries get a lease (locked_until/locked_by) in one statement; other nodes skip rows being
//    claimed and leave leased ones alone until the lease runs out, so a node that dies only delays its claims.
import { sql, type Insertable } from 'kysely';
import type { Db, Engine } from '../../db/database.ts';
import { skipLocked } from '../../db/locking.ts';
import type { WebhookDeliveriesTable } from '../../db/schema.ts';

export type DeliveryInsert = Insertable<WebhookDeliveriesTable>;

// Boolean literals both engines read (SQLite since 3.23 takes TRUE/FALSE as 1/0).
const TRUE = sql<boolean>`true`;
const FALSE = sql<boolean>`false`;

/** Enabled endpoints whose instance has events past their cursor. */
export function endpointsBehind(db: Db) {
  return db
    .selectFrom('webhook_endpoints as e')
    .innerJoin('event_sequences as s', 's.instance_id', 'e.instance_id')
    .select(['e.id', 'e.instance_id', 'e.cursor_seq', 's.last_seq'])
    .where('e.enabled', '=', TRUE)
    .whereRef('s.last_seq', '>', 'e.cursor_seq')
    .execute();
}

export type EndpointBehind = Awaited<ReturnType<typeof endpointsBehind>>[number];

/**
 * Locks the endpoint for its fan-out, if it is still enabled at `cursor` and no other node holds it. A no-op
 * update rather than a read, so that on SQLite the transaction takes the write lock first (waiting for it like any
 * writer) instead of reading a snapshot another connection may have moved past.
 */
export function lockForFanOut(engine: Engine, db: Db, id: string, cursor: number) {
  const candidate = db
    .selectFrom('webhook_endpoints')
    .select('id')
    .where('id', '=', id)
    .where('cursor_seq', '=', cursor)
    .where('enabled', '=', TRUE);
  return db
    .updateTable('webhook_endpoints')
    .set((eb) => ({ cursor_seq: eb.ref('cursor_seq') }))
    .where('id', 'in', skipLocked(engine, candidate))
    .returning(['id', 'instance_id', 'event_types'])
    .executeTakeFirst();
}

/** The next events of an instance after `after`, in sequence order. */
export function eventsAfter(db: Db, instanceId: string, after: number, limit: number) {
  return db
    .selectFrom('events')
    .select(['id', 'seq', 'type', 'resource_id'])
    .where('instance_id', '=', instanceId)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export async function insertDeliveries(db: Db, rows: DeliveryInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('webhook_deliveries')
    .values(rows)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function advanceCursor(db: Db, id: string, from: number, to: number) {
  await db
    .updateTable('webhook_endpoints')
    .set({ cursor_seq: to })
    .where('id', '=', id)
    .where('cursor_seq', '=', from)
    .execute();
}

/**
 * Leases up to `limit` due deliveries to `node` and returns their ids. Only the oldest pending delivery of each
 * resource to each endpoint is due: a later event of the same resource waits until the earlier one is settled,
 * which keeps deliveries in sequence order per resource.
 */
export async function claimDue(
  engine: Engine,
  db: Db,
  claim: { now: string; leaseUntil: string; node: string; limit: number },
): Promise<string[]> {
  const due = db
    .selectFrom('webhook_deliveries as d')
    .select('d.id')
    .where('d.status', '=', 'PENDING')
    .where('d.next_attempt_at', '<=', claim.now)
    .where((eb) => eb.or([eb('d.locked_until', 'is', null), eb('d.locked_until', '<', claim.now)]))
    .where((outer) =>
      outer.not(
        outer.exists(
          outer
            .selectFrom('webhook_deliveries as p')
            .select('p.id')
            .whereRef('p.endpoint_id', '=', 'd.endpoint_id')
            .whereRef('p.resource_id', '=', 'd.resource_id')
            .where('p.status', '=', 'PENDING')
            .where((eb) =>
              eb.or([
                eb('p.seq', '<', eb.ref('d.seq')),
                eb.and([eb('p.seq', '=', eb.ref('d.seq')), eb('p.id', '<', eb.ref('d.id'))]),
              ]),
            ),
        ),
      ),
    )
    .orderBy('d.next_attempt_at')
    .orderBy('d.seq')
    .limit(claim.limit);
  const rows = await db
    .updateTable('webhook_deliveries')
    .set({ locked_until: claim.leaseUntil, locked_by: claim.node })
    .where('id', 'in', skipLocked(engine, due))
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Everything needed to send the claimed deliveries: the event (absent once expired) and the endpoint. */
export function loadClaimed(db: Db, ids: readonly string[], node: string) {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .innerJoin('instances as i', 'i.id', 'd.instance_id')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .leftJoin('events as ev', 'ev.id', 'd.event_id')
    .select([
      'd.id',
      'd.attempts',
      'd.origin',
      'd.event_id',
      'd.endpoint_id',
      'd.instance_id',
      'e.tenant_id',
      'e.url',
      'e.secret',
      'e.previous_secret',
      'e.previous_secret_expires_at',
      'e.enabled',
      'e.failing_since',
      'i.name as instance',
      't.name as tenant',
      'ev.seq',
      'ev.type',
      'ev.resource_type',
      'ev.resource_id',
      'ev.occurred_at',
      'ev.actor_id',
      'ev.actor_name',
      'ev.request_id',
      'ev.data',
    ])
    .where('d.id', 'in', [...ids])
    .where('d.locked_by', '=', node)
    .orderBy('d.seq')
    .execute();
}

export type ClaimedRow = Awaited<ReturnType<typeof loadClaimed>>[number];

/** Settles the delivered ones among the deliveries this node holds, in one statement. */
export async function settleDelivered(
  db: Db,
  node: string,
  ids: readonly string[],
  now: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: 'DELIVERED',
      attempts: eb('attempts', '+', 1),
      locked_until: null,
      locked_by: null,
      updated_at: now,
    }))
    .where('id', 'in', [...ids])
    .where('locked_by', '=', node)
    .where('status', '=', 'PENDING')
    .execute();
}

/** Settles a failed attempt of a delivery this node holds: retried at `nextAttemptAt`, or given up (FAILED). */
export async function settleFailed(
  db: Db,
  node: string,
  outcome: { id: string; status: 'PENDING' | 'FAILED'; nextAttemptAt: string; now: string },
): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: outcome.nextAttemptAt,
      locked_until: null,
      locked_by: null,
      updated_at: outcome.now,
    }))
    .where('id', '=', outcome.id)
    .where('locked_by', '=', node)
    .where('status', '=', 'PENDING')
    .execute();
}

/** A success ends the endpoint's run of failures. */
export async function clearFailing(db: Db, endpointId: string): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('id', '=', endpointId)
    .where('failing_since', 'is not', null)
    .execute();
}

/** Starts the endpoint's run of failures (if none is running) and returns when it started. */
export async function markFailing(db: Db, endpointId: string, now: string) {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: now })
    .where('id', '=', endpointId)
    .where('failing_since', 'is', null)
    .execute();
  const row = await db
    .selectFrom('webhook_endpoints')
    .select(['failing_since', 'enabled'])
    .where('id', '=', endpointId)
    .executeTakeFirst();
  return row;
}

/** Disables an enabled endpoint with a reason; returns whether it was enabled. Cancel its queue after commit. */
export async function disableEndpoint(
  db: Db,
  endpointId: string,
  reason: string,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set({
      enabled: FALSE,
      disabled_reason: reason,
      disabled_at: now,
      updated_at: now,
    })
    .where('id', '=', endpointId)
    .where('enabled', '=', TRUE)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function cancelPending(db: Db, endpointId: string, now: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'CANCELLED', locked_until: null, locked_by: null, updated_at: now })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'PENDING')
    .execute();
}

/** Retention: settled deliveries and logged attempts older than `cutoff`. */
export async function purgeBefore(db: Db, cutoff: string): Promise<number> {
  const deliveries = await db
    .deleteFrom('webhook_deliveries')
    .where('status', '<>', 'PENDING')
    .where('updated_at', '<', cutoff)
    .executeTakeFirst();
  const attempts = await db
    .deleteFrom('webhook_attempts')
    .where('attempted_at', '<', cutoff)
    .executeTakeFirst();
  return Number(deliveries.numDeletedRows) + Number(attempts.numDeletedRows);
}
