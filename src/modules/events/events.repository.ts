// SQL for events and their per-instance sequence. Every function but the retention sweep takes the scope first.
import type { Db } from '../../db/database.ts';
import type { InstanceScope } from '../../platform/http/context.ts';

export interface EventRow {
  id: string;
  seq: number;
  type: string;
  resource_type: string;
  resource_id: string;
  occurred_at: string;
  actor_id: string;
  actor_name: string;
  request_id: string | null;
  data: string;
}

/**
 * Hands out `count` consecutive sequence numbers and returns the last. The row lock this takes on PostgreSQL
 * orders the instance's writers, so sequence order is commit order and a reader never sees a gap fill in later.
 */
export async function allocateSequence(scope: InstanceScope, db: Db, count: number): Promise<number> {
  const row = await db
    .insertInto('event_sequences')
    .values({ instance_id: scope.instanceId, last_seq: count })
    .onConflict((oc) =>
      oc.column('instance_id').doUpdateSet((eb) => ({
        last_seq: eb('event_sequences.last_seq', '+', eb.ref('excluded.last_seq')),
      })),
    )
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

export async function insertEvents(scope: InstanceScope, db: Db, rows: EventRow[]): Promise<void> {
  await db
    .insertInto('events')
    .values(rows.map((r) => ({ ...r, instance_id: scope.instanceId })))
    .execute();
}

export function listEvents(
  scope: InstanceScope,
  db: Db,
  query: { after: number; types: readonly string[]; limit: number },
) {
  return db
    .selectFrom('events')
    .select([
      'id',
      'seq',
      'type',
      'resource_type',
      'resource_id',
      'occurred_at',
      'actor_id',
      'actor_name',
      'request_id',
      'data',
    ])
    .where('instance_id', '=', scope.instanceId)
    .where('seq', '>', query.after)
    .where('type', 'in', query.types)
    .orderBy('seq')
    .limit(query.limit)
    .execute();
}

export function findSequence(scope: InstanceScope, db: Db) {
  return db
    .selectFrom('event_sequences')
    .select(['last_seq', 'purged_through'])
    .where('instance_id', '=', scope.instanceId)
    .executeTakeFirst();
}

/**
 * Retention, across every instance: deletes events older than `cutoff` and records, per instance, the highest
 * sequence number deleted, so a cursor from before it is answered with 410 instead of a silent gap.
 */
export async function purgeOlderThan(db: Db, cutoff: string): Promise<number> {
  const horizons = await db
    .selectFrom('events')
    .select(['instance_id', (eb) => eb.fn.max('seq').as('max_seq')])
    .where('occurred_at', '<', cutoff)
    .groupBy('instance_id')
    .execute();
  let deleted = 0;
  for (const { instance_id, max_seq } of horizons) {
    const result = await db
      .deleteFrom('events')
      .where('instance_id', '=', instance_id)
      .where('seq', '<=', Number(max_seq))
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
    await db
      .updateTable('event_sequences')
      .set({ purged_through: Number(max_seq) })
      .where('instance_id', '=', instance_id)
      .where('purged_through', '<', Number(max_seq))
      .execute();
  }
  return deleted;
}
