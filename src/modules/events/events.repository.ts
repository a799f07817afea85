// SQL for events and their per-instance sequence. Every function but the retention sweep takes the scope first.
import { sql } from 'kysely';
import type { Db, Engine } from '../../db/database.ts';
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

/** An event before it is numbered. */
export type NewEvent = Omit<EventRow, 'seq'>;

/**
 * Numbers the events of one transaction in the instance's sequence and inserts them. The sequence row's lock
 * (PostgreSQL; SQLite has one writer) orders the instance's writers until they commit, so sequence order is commit
 * order and a reader never sees a gap fill in later.
 */
export async function appendEvents(
  scope: InstanceScope,
  db: Db,
  engine: Engine,
  events: readonly NewEvent[],
): Promise<void> {
  if (engine === 'postgres') return appendInOneStatement(scope, db, events);
  const last = await allocateSequence(scope, db, events.length);
  const first = last - events.length + 1;
  await db
    .insertInto('events')
    .values(events.map((e, i) => ({ ...e, seq: first + i, instance_id: scope.instanceId })))
    .execute();
}

/** Hands out `count` consecutive sequence numbers and returns the last. */
async function allocateSequence(scope: InstanceScope, db: Db, count: number): Promise<number> {
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

/**
 * PostgreSQL: the numbering and the insert as one statement. The lock is held from here to commit, and every
 * statement is a round trip to the server, so one statement instead of two shortens the time the instance's other
 * writers wait.
 */
async function appendInOneStatement(scope: InstanceScope, db: Db, events: readonly NewEvent[]) {
  const column = <K extends keyof NewEvent>(key: K) => events.map((e) => e[key]);
  await sql`
    with numbered as (
      insert into event_sequences (instance_id, last_seq) values (${scope.instanceId}, ${events.length})
      on conflict (instance_id) do update set last_seq = event_sequences.last_seq + excluded.last_seq
      returning last_seq
    )
    insert into events (id, instance_id, seq, type, resource_type, resource_id, occurred_at, actor_id, actor_name,
                        request_id, data)
    select e.id, ${scope.instanceId}, numbered.last_seq - ${events.length} + e.ord, e.type, e.resource_type,
           e.resource_id, e.occurred_at::timestamptz, e.actor_id, e.actor_name, e.request_id, e.data::jsonb
    from numbered,
         unnest(${column('id')}::text[], ${column('type')}::text[], ${column('resource_type')}::text[],
                ${column('resource_id')}::text[], ${column('occurred_at')}::text[], ${column('actor_id')}::text[],
                ${column('actor_name')}::text[], ${column('request_id')}::text[], ${column('data')}::text[])
           with ordinality as e(id, type, resource_type, resource_id, occurred_at, actor_id, actor_name, request_id,
                                data, ord)`.execute(db);
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
