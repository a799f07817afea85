// The node's side of the realtime stream: one channel per instance that has open sockets here. A commit on this
// node, a NOTIFY from another node or the heartbeat's check wakes the instance's channel, which reads the events
// after the last sequence it has delivered (from the events table, so order and content are the change feed's),
// once per wake-up however many sockets listen, and hands them to every socket of the instance.
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Database } from '../../db/database.ts';
import type { EventNotifier } from '../../db/notify.ts';
import type { Authenticator } from '../../platform/auth/authenticator.ts';
import type { Clock } from '../../platform/clock.ts';
import { invalidFields, KithError } from '../../platform/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { CommitListener } from '../../platform/writes.ts';
import { findSequence } from '../events/events.repository.ts';
import { EVENT_TYPES } from '../events/events.schemas.ts';
import { encodeCursor, type EventsService } from '../events/events.service.ts';
import type { Access, StreamTarget } from './realtime.access.ts';
import {
  Connection,
  type Channel,
  type Page,
  type StreamHub,
  type StreamLimits,
} from './realtime.connection.ts';
import { FEED_VIEW, type Delivery, type StreamView } from './realtime.subscription.ts';
import { findEventSequence, latestSequences } from './realtime.repository.ts';
import { CLOSE } from './realtime.schemas.ts';
import { streamOpened, streamRefused } from './realtime.audit.ts';
import type { AuditService } from '../audit/audit.service.ts';

/** Events read per query, by a channel or by a subscription catching up. */
const PAGE_SIZE = 200;
/** How long sockets get to finish the closing handshake when the server stops. */
const SHUTDOWN_GRACE_MS = 2000;

export interface HubDeps {
  database: Database;
  events: EventsService;
  authenticator: Authenticator;
  clock: Clock;
  audit: Pick<AuditService, 'enqueue'>;
  notifier: EventNotifier;
  log: FastifyBaseLogger;
  limits: StreamLimits;
}

export class RealtimeHub implements StreamHub {
  private readonly channels = new Map<string, Channel>();
  private readonly opening = new Map<string, Promise<Channel>>();
  private readonly perClient = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: HubDeps) {}

  get limits(): StreamLimits {
    return this.deps.limits;
  }

  get clock(): Clock {
    return this.deps.clock;
  }

  get authenticator(): Authenticator {
    return this.deps.authenticator;
  }

  start(): void {
    this.deps.notifier.start({
      onWake: (instanceId, lastSeq) => this.wake(instanceId, lastSeq),
      onResync: () => {
        for (const instanceId of this.channels.keys()) this.wake(instanceId);
      },
      onError: (error, context) => this.deps.log.warn({ err: error, context }, 'realtime: wake-up channel'),
    });
    this.timer = setInterval(() => this.tick(), this.deps.limits.heartbeatMs);
    this.timer.unref();
  }

  /** Closes every socket (1001), stops listening to other nodes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const open = [...this.connections];
    for (const connection of open) connection.close(CLOSE.goingAway, 'server shutting down');
    await this.deps.notifier.close();
    const deadline = Date.now() + SHUTDOWN_GRACE_MS;
    while (open.some((c) => !c.isFinished()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    for (const connection of open) if (!connection.isFinished()) connection.terminate();
  }

  /** After every commit on this node: wake the instance here, and announce it to the other nodes. */
  readonly onCommit: CommitListener = (ctx, changes) => {
    if (this.stopped || changes.length === 0) return;
    this.wake(ctx.scope.instanceId);
    this.deps.notifier.announce(ctx.scope.instanceId);
  };

  recordOpened(target: StreamTarget, access: Access): void {
    this.deps.audit.enqueue(streamOpened(target, access, this.deps.clock.now().toISOString()));
  }

  recordRefused(target: StreamTarget, error: KithError): void {
    this.deps.audit.enqueue(streamRefused(target, error, this.deps.clock.now().toISOString()));
  }

  /** A socket whose token came in the Authorization header and passed the access hook before the upgrade. */
  accept(
    socket: WebSocket,
    target: StreamTarget,
    access: Access,
    log: FastifyBaseLogger,
    view: StreamView = FEED_VIEW,
  ): void {
    const connection = this.open(socket, target, log, view);
    connection?.start(access);
  }

  /** A socket (from a browser) that must send its token in its first message. */
  acceptUnauthenticated(
    socket: WebSocket,
    target: StreamTarget,
    log: FastifyBaseLogger,
    view: StreamView = FEED_VIEW,
  ): void {
    this.open(socket, target, log, view)?.awaitAuth();
  }

  private open(
    socket: WebSocket,
    target: StreamTarget,
    log: FastifyBaseLogger,
    view: StreamView,
  ): Connection | undefined {
    if (this.stopped) {
      socket.close(CLOSE.goingAway, 'server shutting down');
      return undefined;
    }
    const connection = new Connection(socket, this, target, log, view);
    this.connections.add(connection);
    return connection;
  }

  /**
   * Admits an authenticated socket to its instance's channel, within the per-client cap. Undefined when the
   * cap is reached (the caller closes the socket).
   */
  async admit(connection: Connection, access: Access): Promise<Channel | undefined> {
    const clientId = access.principal.clientId;
    const count = this.perClient.get(clientId) ?? 0;
    if (count >= this.deps.limits.maxConnectionsPerClient) return undefined;
    this.perClient.set(clientId, count + 1);
    let channel: Channel;
    try {
      channel = await this.channelOf(access.scope);
    } catch (error) {
      this.uncount(clientId);
      throw error;
    }
    // The last socket of that channel may have left while this one waited: a channel found gone is put back.
    const current = this.channels.get(access.scope.instanceId);
    if (current) channel = current;
    else this.channels.set(access.scope.instanceId, channel);
    channel.connections.add(connection);
    return channel;
  }

  /** Called once by every connection when it ends, whatever ended it. */
  release(connection: Connection, clientId: string | undefined, channel: Channel | undefined): void {
    this.connections.delete(connection);
    if (clientId !== undefined) this.uncount(clientId);
    if (channel) {
      channel.connections.delete(connection);
      if (channel.connections.size === 0 && this.channels.get(channel.scope.instanceId) === channel)
        this.channels.delete(channel.scope.instanceId);
    }
  }

  private uncount(clientId: string): void {
    const left = (this.perClient.get(clientId) ?? 1) - 1;
    if (left > 0) this.perClient.set(clientId, left);
    else this.perClient.delete(clientId);
  }

  private async channelOf(scope: InstanceScope): Promise<Channel> {
    const existing = this.channels.get(scope.instanceId);
    if (existing) return existing;
    let opening = this.opening.get(scope.instanceId);
    if (!opening) {
      opening = (async () => {
        const sequence = await findSequence(scope, this.deps.database.db);
        const channel: Channel = {
          scope,
          seq: Number(sequence?.last_seq ?? 0),
          connections: new Set(),
          reading: false,
          again: false,
        };
        this.channels.set(scope.instanceId, channel);
        return channel;
      })().finally(() => this.opening.delete(scope.instanceId));
      this.opening.set(scope.instanceId, opening);
    }
    return opening;
  }

  /** Reads the instance's new events once and fans them out; a wake-up during the read causes one more read. */
  wake(instanceId: string, lastSeq?: number): void {
    const channel = this.channels.get(instanceId);
    if (!channel || (lastSeq !== undefined && lastSeq <= channel.seq)) return;
    if (channel.reading) {
      channel.again = true;
      return;
    }
    void this.pump(channel);
  }

  private async pump(channel: Channel): Promise<void> {
    channel.reading = true;
    try {
      do {
        channel.again = false;
        let page: Page;
        do {
          page = await this.readAfter(channel.scope, channel.seq);
          if (page.events.length === 0) break;
          const batch: Delivery[] = page.events.map((event) => ({
            event,
            json: JSON.stringify(event),
            messages: new Map(),
            views: new Map(),
          }));
          // Advance, then hand out, in one synchronous step: a subscription catching up compares its position
          // with channel.seq, and must never see the one without the other.
          channel.seq = batch.at(-1)!.event.sequence;
          for (const connection of channel.connections) connection.deliver(batch);
        } while (page.hasMore);
      } while (channel.again && !this.stopped);
    } catch (error) {
      if (error instanceof KithError && error.code === 'CURSOR_EXPIRED') {
        // Retention deleted events this channel had not read yet: its streams cannot continue without a gap.
        // Closed, their clients resume with lastEventId and are told CURSOR_EXPIRED (resynchronise).
        for (const connection of [...channel.connections])
          connection.close(CLOSE.internalError, 'stream fell behind the retained history');
      } else {
        // The next wake-up or heartbeat check reads again from the same sequence: nothing is skipped.
        this.deps.log.warn(
          { err: error, instanceId: channel.scope.instanceId },
          'realtime: reading events failed',
        );
      }
    } finally {
      channel.reading = false;
    }
  }

  /** Events after `seq`, of every type (each socket filters by its policy and subscriptions), oldest first. */
  async readAfter(scope: InstanceScope, seq: number): Promise<Page> {
    const page = await this.deps.events.changes(scope, {
      since: encodeCursor(seq),
      types: EVENT_TYPES,
      limit: PAGE_SIZE,
    });
    return { events: page.data, hasMore: page.hasMore };
  }

  /**
   * The sequence number to resume after, from a client's lastEventId (an event id or a sequence number). Too old
   * for the retained history (or an id the instance no longer has) is CURSOR_EXPIRED, as in the change feed.
   */
  async resumePoint(scope: InstanceScope, lastEventId: string | number): Promise<number> {
    const { db } = this.deps.database;
    const sequence = await findSequence(scope, db);
    const purgedThrough = Number(sequence?.purged_through ?? 0);
    const latest = Number(sequence?.last_seq ?? 0);
    const seq =
      typeof lastEventId === 'number' ? lastEventId : await findEventSequence(scope, db, lastEventId);
    if (seq === undefined || seq < purgedThrough) throw new KithError('CURSOR_EXPIRED');
    if (seq > latest)
      throw invalidFields([{ field: 'lastEventId', message: 'is after the latest event of the instance' }]);
    return seq;
  }

  /** Heartbeats for every socket, and a check for events whose wake-up was lost (a node died before its NOTIFY). */
  private tick(): void {
    for (const connection of this.connections) connection.heartbeat();
    const instanceIds = [...this.channels.keys()];
    latestSequences(this.deps.database.db, instanceIds).then(
      (latest) => {
        for (const [instanceId, seq] of latest) this.wake(instanceId, seq);
      },
      (error: unknown) => this.deps.log.warn({ err: error }, 'realtime: checking for new events failed'),
    );
  }
}
