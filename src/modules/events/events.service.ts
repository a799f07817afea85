// Events: written for every recorded change inside the changing transaction (Writes.recordWith), read back as a
// change feed with a cursor a client can store, and deleted after the retention period.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../db/database.ts';
import { fromJson, toIso, toJson } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import { invalidFields, KithError } from '../../platform/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { Change, WriteTx } from '../../platform/writes.ts';
import * as repo from './events.repository.ts';
import type { Event, EventType } from './events.schemas.ts';

export interface EventsServiceDeps {
  database: Database;
  clock: Clock;
  retentionDays: number;
}

/** What an event says of a resource that is gone: its id, and whether it can still come back. */
function tombstone(change: Change, now: string) {
  return { id: change.id, deleted: true, permanent: change.action === 'purged', deletedAt: now };
}

export function eventType(change: Change): EventType {
  const action = change.action === 'purged' ? 'deleted' : change.action;
  return `${change.resource}.${action}`;
}

/** The change feed's cursor for a sequence number (the realtime stream resumes through the feed with it). */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw invalidFields([{ field: 'since', message: 'is not a cursor this server issued' }], 'querystring');
  return Number(match[1]);
}

export class EventsService {
  constructor(private readonly deps: EventsServiceDeps) {}

  /** The outbox recorder: one event per change, numbered in the instance's sequence. */
  readonly record = async (tx: WriteTx, changes: readonly Change[]): Promise<void> => {
    const { scope, actor, requestId } = tx.ctx;
    await repo.appendEvents(
      scope,
      tx.db,
      this.deps.database.engine,
      changes.map((change) => ({
        id: `evt_${randomUUID().replace(/-/g, '')}`,
        type: eventType(change),
        resource_type: change.resource,
        resource_id: change.id,
        occurred_at: tx.now,
        actor_id: actor.id,
        actor_name: actor.name,
        request_id: requestId,
        data: toJson(
          change.action === 'deleted' || change.action === 'purged'
            ? tombstone(change, tx.now)
            : change.after,
        ),
      })),
    );
  };

  /** The change feed: events after `since` (all retained ones without it), oldest first. */
  async changes(
    scope: InstanceScope,
    query: { since?: string; types: readonly EventType[]; limit: number },
  ): Promise<{ data: Event[]; nextCursor: string; hasMore: boolean }> {
    const { db } = this.deps.database;
    const after = query.since === undefined ? undefined : decodeCursor(query.since);
    const sequence = await repo.findSequence(scope, db);
    const purgedThrough = Number(sequence?.purged_through ?? 0);
    if (after !== undefined && after < purgedThrough) {
      throw new KithError('CURSOR_EXPIRED', {
        details: { oldestAvailableCursor: encodeCursor(purgedThrough) },
      });
    }
    const start = after ?? purgedThrough;
    const rows = await repo.listEvents(scope, db, {
      after: start,
      types: query.types,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    // Without more rows the client has seen everything up to the instance's latest sequence number, read before
    // the rows: a change committed in between is among the rows, and the cursor must not fall back before it.
    const through =
      rows.length > query.limit
        ? page.at(-1)!.seq
        : Math.max(start, Number(sequence?.last_seq ?? 0), Number(page.at(-1)?.seq ?? 0));
    return {
      data: page.map((row) => ({
        id: row.id,
        type: row.type,
        sequence: Number(row.seq),
        occurredAt: toIso(row.occurred_at),
        tenant: scope.tenant,
        instance: scope.instance,
        resourceType: row.resource_type,
        resourceId: row.resource_id,
        actor: { id: row.actor_id, name: row.actor_name },
        requestId: row.request_id,
        data: fromJson(row.data),
      })),
      nextCursor: encodeCursor(Number(through)),
      hasMore: rows.length > query.limit,
    };
  }

  /** Deletes events past the retention period (run periodically by the server). */
  async purgeExpired(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.retentionDays * 86_400_000);
    return repo.purgeOlderThan(this.deps.database.db, cutoff.toISOString());
  }
}
