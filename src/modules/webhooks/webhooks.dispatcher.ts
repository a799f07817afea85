// Delivers the events outbox to webhook endpoints, at least once and only after commit (it reads committed
// events, never the changes of a transaction in flight). Each pass: record the attempts that finished, fan new
// events out into deliveries, claim due deliveries (one node each, under a lease), and send them. A pass runs
// after every local commit to an instance that has endpoints, and every poll interval to pick up other nodes'
// events and due retries. Tests call tick() to run one whole pass and wait for it.
import { randomUUID } from 'node:crypto';
import type { Database, Db } from '../../db/database.ts';
import { fromJson, toBool, toIso } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Event } from '../events/events.schemas.ts';
import * as queue from './webhooks.queue.ts';
import { insertAttempts } from './webhooks.repository.ts';
import type { SendResult, WebhookSender } from './webhooks.sender.ts';

/** Waits after the 1st, 2nd, … failed attempt; after the last one the delivery is given up (8 attempts). */
export const RETRY_SCHEDULE_MS = [5, 300, 1800, 7200, 18_000, 36_000, 36_000].map((s) => s * 1000);
/** An endpoint whose every attempt has failed for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 86_400_000;

export interface DispatcherOptions {
  pollMs: number;
  /** Deliveries claimed per pass (and the most in flight at once). */
  batchSize?: number;
  /** How long a claim is exclusive; must exceed the send timeout by a margin. */
  leaseMs?: number;
  /**
   * How long a wake-up after a commit or a finished send waits for others to join it, so a burst of writes is
   * fanned out, claimed and settled in a few passes instead of one pass per event.
   */
  coalesceMs?: number;
  retentionDays: number;
}

interface Log {
  warn(obj: object, msg: string): void;
}

interface Settled {
  claim: queue.ClaimedRow;
  result: SendResult;
}

export interface TickResult {
  queued: number;
  attempted: number;
  delivered: number;
}

const FANOUT_BATCH = 500;
const HOUR_MS = 3_600_000;

export const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

/** A delivery of `event` to `endpoint`, due now: queued from the outbox or by a replay. */
export function pendingDelivery(
  endpoint: { id: string; instance_id: string },
  event: { id: string; seq: number | string; resource_id: string },
  origin: 'outbox' | 'replay',
  now: string,
): queue.DeliveryInsert {
  return {
    id: newId('dlv'),
    endpoint_id: endpoint.id,
    instance_id: endpoint.instance_id,
    event_id: event.id,
    seq: Number(event.seq),
    resource_id: event.resource_id,
    origin,
    status: 'PENDING',
    attempts: 0,
    next_attempt_at: now,
    locked_until: null,
    locked_by: null,
    created_at: now,
    updated_at: now,
  };
}

/** The secrets a delivery is signed with: the current one, and the previous one while its grace period lasts. */
export function signingSecrets(
  endpoint: {
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: Date | string | null;
  },
  at: string,
): string[] {
  const { secret, previous_secret: previous, previous_secret_expires_at: expires } = endpoint;
  return previous !== null && expires !== null && toIso(expires) > at ? [secret, previous] : [secret];
}

/** An attempt's outcome as the delivery log stores it. */
export function attemptOutcome(result: SendResult) {
  return {
    attempted_at: result.sentAt,
    status: result.status,
    http_status: result.httpStatus,
    duration_ms: result.durationMs,
    error: result.error,
    response: result.response,
  };
}

/** The body of a delivery: the event exactly as the change feed shows it. */
function eventOf(row: queue.ClaimedRow): Event {
  return {
    id: row.event_id,
    type: row.type!,
    sequence: Number(row.seq),
    occurredAt: toIso(row.occurred_at!),
    tenant: row.tenant,
    instance: row.instance,
    resourceType: row.resource_type!,
    resourceId: row.resource_id!,
    actor: { id: row.actor_id!, name: row.actor_name! },
    requestId: row.request_id,
    data: fromJson(row.data),
  };
}

export class WebhookDispatcher {
  /** Names this node's leases. */
  readonly node = newId('node');
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly coalesceMs: number;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly inFlight = new Set<Promise<void>>();
  private finished: Settled[] = [];
  /** Instances with enabled endpoints (refreshed every poll), so a commit elsewhere costs nothing. */
  private watched: Set<string> | undefined;
  private lastPurge = 0;
  /** Whether events may have arrived since the last fan-out (a commit here, a poll, a batch left over). */
  private eventsPending = true;
  private log: Log = { warn: () => undefined };

  constructor(
    private readonly deps: {
      database: Database;
      clock: Clock;
      sender: WebhookSender;
      options: DispatcherOptions;
    },
  ) {
    this.batchSize = deps.options.batchSize ?? 50;
    this.leaseMs = deps.options.leaseMs ?? 60_000;
    this.coalesceMs = deps.options.coalesceMs ?? 50;
  }

  /** Runs passes in the background until stop(). */
  start(log?: Log): void {
    if (log) this.log = log;
    this.stopped = false;
    this.timer = setInterval(() => {
      this.watched = undefined;
      this.eventsPending = true;
      this.wake();
    }, this.deps.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops the background passes; the sends in flight finish (within their timeout) and are recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.soon = undefined;
    await this.running;
    await Promise.allSettled([...this.inFlight]);
    await this.flush().catch((error: unknown) =>
      this.log.warn({ err: error }, 'webhook results not recorded'),
    );
  }

  /** stop(), then closes the connections kept open to receivers. The dispatcher cannot send after this. */
  async close(): Promise<void> {
    await this.stop();
    await this.deps.sender.close();
  }

  /** After a local commit: look for work now, if anyone listens to this instance. */
  notify(instanceId: string): void {
    if (this.watched === undefined || this.watched.has(instanceId)) {
      this.eventsPending = true;
      this.wakeSoon();
    }
  }

  /** An endpoint was created or enabled here: its instance is watched from now on. */
  watch(instanceId: string): void {
    this.watched?.add(instanceId);
    this.eventsPending = true;
    this.wake();
  }

  /** A pass within coalesceMs, shared with every other wake-up that arrives meanwhile. */
  private wakeSoon(): void {
    if (this.soon !== undefined || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.wake();
    }, this.coalesceMs);
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** One whole pass, waited for: fan out, claim what is due, send it, record it. For tests and tools. */
  async tick(): Promise<TickResult> {
    let queued = 0;
    for (let more = true; more;) {
      const step = await this.fanOut();
      queued += step.queued;
      more = step.more;
    }
    const claimed = await this.claim(this.batchSize);
    const settled = await Promise.all(claimed.map((claim) => this.attempt(claim)));
    await this.record(settled);
    const delivered = settled.filter((s) => s.result.status === 'DELIVERED').length;
    return { queued, attempted: settled.length, delivered };
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        if (this.watched === undefined) await this.refreshWatched();
        if (await this.pass()) this.again = true;
        await this.purgeHourly();
      } catch (error) {
        this.log.warn({ err: error }, 'webhook dispatch pass failed; the next one retries');
        return;
      }
    } while (this.again && !this.stopped);
  }

  /** Returns whether more work is waiting. Sends run in the background; their results are recorded next pass. */
  private async pass(): Promise<boolean> {
    await this.flush();
    // Only after a commit, a poll or a full batch: a pass woken by finished sends has no new events to fan out.
    const fanOut = this.eventsPending;
    this.eventsPending = false;
    const { more } = fanOut ? await this.fanOut() : { more: false };
    if (more) this.eventsPending = true;
    const capacity = this.batchSize - this.inFlight.size;
    if (capacity <= 0) return more;
    const claimed = await this.claim(capacity);
    for (const claim of claimed) {
      // A delivery whose result is lost stays leased and is sent again once the lease runs out.
      const sending: Promise<void> = this.attempt(claim)
        .then(
          (settled) => {
            this.finished.push(settled);
            this.wakeSoon();
          },
          (error: unknown) =>
            this.log.warn({ err: error, delivery: claim.id }, 'webhook attempt failed to run'),
        )
        .finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
    return more || claimed.length === capacity;
  }

  private async flush(): Promise<void> {
    if (this.finished.length === 0) return;
    const settled = this.finished;
    this.finished = [];
    await this.record(settled);
  }

  private async refreshWatched(): Promise<void> {
    const rows = await this.deps.database.db
      .selectFrom('webhook_endpoints')
      .select('instance_id')
      .distinct()
      .execute();
    this.watched = new Set(rows.map((r) => r.instance_id));
  }

  private async purgeHourly(): Promise<void> {
    const now = this.deps.clock.now().getTime();
    if (now - this.lastPurge < HOUR_MS) return;
    this.lastPurge = now;
    const cutoff = new Date(now - this.deps.options.retentionDays * 86_400_000).toISOString();
    await queue.purgeBefore(this.deps.database.db, cutoff);
  }

  /**
   * Turns events past each endpoint's cursor into deliveries: one transaction per instance, which reads the
   * instance's new events once for all its endpoints. `more`: an instance had more than one batch.
   */
  private async fanOut(): Promise<{ queued: number; more: boolean }> {
    const { database } = this.deps;
    const byInstance = new Map<string, queue.EndpointBehind[]>();
    for (const endpoint of await queue.endpointsBehind(database.db)) {
      const list = byInstance.get(endpoint.instance_id);
      if (list) list.push(endpoint);
      else byInstance.set(endpoint.instance_id, [endpoint]);
    }
    let queued = 0;
    let more = false;
    for (const [instanceId, endpoints] of byInstance) {
      const step = await database.db
        .transaction()
        .execute((tx) => this.fanOutInstance(tx, instanceId, endpoints));
      queued += step.queued;
      more ||= step.more;
    }
    return { queued, more };
  }

  private async fanOutInstance(
    tx: Db,
    instanceId: string,
    endpoints: readonly queue.EndpointBehind[],
  ): Promise<{ queued: number; more: boolean }> {
    const locked = [];
    for (const endpoint of endpoints) {
      const cursor = Number(endpoint.cursor_seq);
      const row = await queue.lockForFanOut(this.deps.database.engine, tx, endpoint.id, cursor);
      if (row) locked.push({ ...row, cursor, last: Number(endpoint.last_seq) });
    }
    if (locked.length === 0) return { queued: 0, more: false };
    const now = this.deps.clock.now().toISOString();
    const from = Math.min(...locked.map((e) => e.cursor));
    const events = await queue.eventsAfter(tx, instanceId, from, FANOUT_BATCH);
    const full = events.length === FANOUT_BATCH;
    const lastRead = Number(events.at(-1)?.seq ?? from);
    const rows: queue.DeliveryInsert[] = [];
    for (const endpoint of locked) {
      const types = new Set(fromJson<string[]>(endpoint.event_types));
      for (const event of events) {
        if (Number(event.seq) > endpoint.cursor && types.has(event.type))
          rows.push(pendingDelivery(endpoint, event, 'outbox', now));
      }
      // A full batch ends where it was read. Otherwise every event up to the head was read, and a sequence head
      // past them means retention deleted the rest: the cursor moves past those too.
      const through = Math.max(endpoint.cursor, lastRead, full ? 0 : endpoint.last);
      await queue.advanceCursor(tx, endpoint.id, endpoint.cursor, through);
    }
    await queue.insertDeliveries(tx, rows);
    return { queued: rows.length, more: full };
  }

  /** Leases due deliveries; those whose endpoint was disabled meanwhile are cancelled instead of sent. */
  private async claim(limit: number): Promise<queue.ClaimedRow[]> {
    const { database, clock } = this.deps;
    const now = clock.now();
    const ids = await queue.claimDue(database.engine, database.db, {
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + this.leaseMs).toISOString(),
      node: this.node,
      limit,
    });
    const claimed = await queue.loadClaimed(database.db, ids, this.node);
    const disabled = claimed.filter((c) => !toBool(c.enabled)).map((c) => c.endpoint_id);
    for (const endpointId of new Set(disabled))
      await queue.cancelPending(database.db, endpointId, now.toISOString());
    return claimed.filter((c) => toBool(c.enabled));
  }

  private async attempt(claim: queue.ClaimedRow): Promise<Settled> {
    const { clock, sender } = this.deps;
    const sentAt = clock.now().toISOString();
    if (claim.seq === null) {
      const error = 'event expired (past the retention period) before it could be delivered';
      return {
        claim,
        result: { status: 'FAILED', httpStatus: null, durationMs: 0, error, response: null, sentAt },
      };
    }
    const secrets = signingSecrets(claim, sentAt);
    const body = JSON.stringify(eventOf(claim));
    return { claim, result: await sender.send({ url: claim.url, secrets }, claim.event_id, body) };
  }

  /**
   * Logs each attempt and settles its delivery and endpoint, in one transaction. Endpoint rows are updated last
   * and in id order, so two nodes recording at once lock them in the same order and never deadlock; the queue of
   * an endpoint disabled here is cancelled after the commit, for the same reason.
   */
  private async record(settled: readonly Settled[]): Promise<void> {
    if (settled.length === 0) return;
    const { database, clock } = this.deps;
    const now = clock.now();
    const iso = now.toISOString();
    const byEndpoint = [...settled].sort((a, b) => a.claim.endpoint_id.localeCompare(b.claim.endpoint_id));
    const disabled = await database.db.transaction().execute(async (tx) => {
      await insertAttempts(
        tx,
        settled.map(({ claim, result }) => ({
          id: newId('wha'),
          tenant_id: claim.tenant_id,
          instance_id: claim.instance_id,
          endpoint_id: claim.endpoint_id,
          url: claim.url,
          delivery_id: claim.id,
          event_id: claim.event_id,
          event_type: claim.type ?? 'unknown',
          origin: claim.origin,
          attempt: claim.attempts + 1,
          ...attemptOutcome(result),
        })),
      );
      const delivered = settled.filter((s) => s.result.status === 'DELIVERED').map((s) => s.claim.id);
      await queue.settleDelivered(tx, this.node, delivered, iso);
      for (const { claim, result } of settled) {
        if (result.status === 'DELIVERED') continue;
        const attempts = claim.attempts + 1;
        const wait = RETRY_SCHEDULE_MS[attempts - 1];
        const retry = claim.seq !== null && result.httpStatus !== 410 && wait !== undefined;
        await queue.settleFailed(tx, this.node, {
          id: claim.id,
          status: retry ? 'PENDING' : 'FAILED',
          nextAttemptAt: retry ? new Date(now.getTime() + wait).toISOString() : iso,
          now: iso,
        });
      }
      const disabledHere: string[] = [];
      const ended = new Set<string>();
      for (const { claim, result } of byEndpoint) {
        if (result.status === 'DELIVERED') {
          // Only an endpoint that was failing when its delivery was claimed has a run of failures to end.
          if (claim.failing_since !== null && !ended.has(claim.endpoint_id)) {
            ended.add(claim.endpoint_id);
            await queue.clearFailing(tx, claim.endpoint_id);
          }
        } else if (claim.seq !== null && (await this.endpointFailed(tx, claim.endpoint_id, result, now))) {
          disabledHere.push(claim.endpoint_id);
        }
      }
      return disabledHere;
    });
    for (const endpointId of disabled) await queue.cancelPending(database.db, endpointId, iso);
  }

  /**
   * A 410 disables the endpoint at once; otherwise it is disabled once it has failed for DISABLE_AFTER_MS.
   * Returns whether this disabled it.
   */
  private async endpointFailed(tx: Db, endpointId: string, result: SendResult, now: Date): Promise<boolean> {
    const iso = now.toISOString();
    if (result.httpStatus === 410) {
      return queue.disableEndpoint(tx, endpointId, 'The endpoint answered 410 Gone', iso);
    }
    // The run of failures starts with the attempt that failed first, not when its result was recorded.
    const state = await queue.markFailing(tx, endpointId, result.sentAt);
    if (!state?.failing_since) return false;
    const since = toIso(state.failing_since);
    if (now.getTime() - Date.parse(since) < DISABLE_AFTER_MS) return false;
    const reason =
      `Every delivery attempt failed for more than 5 days (since ${since}); last error: ` +
      (result.error ?? 'unknown');
    return queue.disableEndpoint(tx, endpointId, reason, iso);
  }
}
