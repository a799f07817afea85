// The stream's own reads of the events tables: where an instance's sequence stands, and where a given event sits
// in it. Events themselves are read through the change feed (EventsService.changes), so both show the same thing.
import type { Db } from '../../db/database.ts';
import type { InstanceScope } from '../../platform/http/context.ts';

/** The sequence number of one of the instance's retained events; undefined if it is not (or no longer) there. */
export async function findEventSequence(
  scope: InstanceScope,
  db: Db,
  eventId: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('events')
    .select('seq')
    .where('instance_id', '=', scope.instanceId)
    .where('id', '=', eventId)
    .executeTakeFirst();
  return row === undefined ? undefined : Number(row.seq);
}

/**
 * The latest sequence number of each of several instances (those this node streams), for the periodic check that
 * catches a wake-up lost on the way. Instances without any event yet are left out.
 */
export async function latestSequences(db: Db, instanceIds: readonly string[]): Promise<Map<string, number>> {
  if (instanceIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('event_sequences')
    .select(['instance_id', 'last_seq'])
    .where('instance_id', 'in', instanceIds)
    .execute();
  return new Map(rows.map((r) => [r.instance_id, Number(r.last_seq)]));
}
