// One stream socket: its authentication, its subscriptions and their positions in the instance's sequence, the
// catching up of a resumed subscription, heartbeats and the send buffer cap. Messages from the client are handled
// one at a time, in order.
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Authenticator } from '../../platform/auth/authenticator.ts';
import type { Clock } from '../../platform/clock.ts';
import { invalidFields, KithError, renderError } from '../../platform/errors.ts';
import { denied } from '../../platform/http/authorize.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { Event, EventType } from '../events/events.schemas.ts';
import { readableTypes, resolveAccess, type Access, type StreamTarget } from './realtime.access.ts';
import { CLOSE, parseClientMessage, type ServerMessage, type SubscribeMessage } from './realtime.schemas.ts';
import {
  encodedFor,
  encodeEvent,
  eventMessage,
  matches,
  type Delivery,
  type StreamView,
  type Subscription,
} from './realtime.subscription.ts';

export interface StreamLimits {
  heartbeatMs: number;
  authTimeoutMs: number;
  maxConnectionsPerClient: number;
  maxSubscriptions: number;
  maxBufferedBytes: number;
}

export interface Page {
  events: Event[];
  hasMore: boolean;
}

/** The hub's view of one instance (see realtime.hub.ts). */
export interface Channel {
  scope: InstanceScope;
  /** The last sequence number handed to the channel's sockets. */
  seq: number;
  connections: Set<Connection>;
  reading: boolean;
  /** A wake-up arrived while reading: read once more when done. */
  again: boolean;
}

/** What a connection needs of the hub. */
export interface StreamHub {
  readonly limits: StreamLimits;
  readonly clock: Clock;
  readonly authenticator: Authenticator;
  admit(connection: Connection, access: Access): Promise<Channel | undefined>;
  release(connection: Connection, clientId: string | undefined, channel: Channel | undefined): void;
  readAfter(scope: InstanceScope, seq: number): Promise<Page>;
  resumePoint(scope: InstanceScope, lastEventId: string | number): Promise<number>;
  /** Audits a stream that opened (like a list) and a token the stream refused (like an HTTP refusal). */
  recordOpened(target: StreamTarget, access: Access): void;
  recordRefused(target: StreamTarget, error: KithError): void;
}

/** Client messages waiting to be handled; past this the client is flooding. */
const MAX_PENDING_MESSAGES = 32;
/** How often a catching-up subscription looks at the send buffer while waiting for it to empty. */
const DRAIN_POLL_MS = 20;

export class Connection {
  private access: Access | undefined;
  private channel: Channel | undefined;
  private readonly subscriptions = new Map<string, Subscription>();
  private authTimer: NodeJS.Timeout | undefined;
  private state: 'awaiting-auth' | 'authenticating' | 'open' | 'closed' = 'authenticating';
  private alive = true;
  private pending = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    private readonly hub: StreamHub,
    private target: StreamTarget,
    private readonly log: FastifyBaseLogger,
    private readonly view: StreamView,
  ) {
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', () => this.dispose());
  }

  /** Waits for `{"type":"auth","token":…}` as the first message, for the configured time. */
  awaitAuth(): void {
    this.state = 'awaiting-auth';
    this.authTimer = setTimeout(
      () => this.close(CLOSE.unauthenticated, 'no auth message in time'),
      this.hub.limits.authTimeoutMs,
    );
    this.authTimer.unref();
  }

  /** Starts a socket whose access was decided before the upgrade; messages sent meanwhile wait their turn. */
  start(access: Access): void {
    this.enqueue(() => this.authenticated(access));
  }

  /** Joins the instance's channel (within the per-client cap) and tells the client it may subscribe. */
  private async authenticated(access: Access): Promise<void> {
    clearTimeout(this.authTimer);
    let channel: Channel | undefined;
    try {
      channel = await this.hub.admit(this, access);
    } catch (error) {
      this.log.error({ err: error }, 'realtime: admitting a socket failed');
      this.close(CLOSE.internalError, 'internal error');
      return;
    }
    if (!channel) {
      this.close(CLOSE.tooManyConnections, 'too many open streams for this API client');
      return;
    }
    if (this.state === 'closed') {
      this.hub.release(this, access.principal.clientId, channel);
      return;
    }
    this.access = access;
    this.channel = channel;
    // A bare path's default instance is fixed now: later token checks hold the stream to it.
    this.target = { ...this.target, tenant: access.scope.tenant, instance: access.scope.instance };
    this.state = 'open';
    this.hub.recordOpened(this.target, access);
    this.send({
      type: 'ready',
      tenant: access.scope.tenant,
      instance: access.scope.instance,
      sequence: channel.seq,
      heartbeatSeconds: Math.round(this.hub.limits.heartbeatMs / 1000),
      expiresAt: access.principal.tokenExpiresAt.toISOString(),
    });
  }

  isFinished(): boolean {
    return this.socket.readyState === this.socket.CLOSED;
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    if (code !== CLOSE.goingAway) this.log.info({ code, reason }, 'realtime: closing stream');
    this.dispose();
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.dispose();
    this.socket.terminate();
  }

  private dispose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.authTimer);
    this.subscriptions.clear();
    this.hub.release(this, this.access?.principal.clientId, this.channel);
  }

  /** Live events from the channel, in sequence order. */
  deliver(batch: readonly Delivery[]): void {
    for (const sub of this.subscriptions.values()) {
      if (!sub.live) continue;
      for (const delivery of batch) {
        const { event } = delivery;
        if (event.sequence <= sub.position) continue;
        sub.position = event.sequence;
        if (matches(sub, event) && !this.sendEvent(sub, delivery)) return;
      }
    }
  }

  /** Called every heartbeat interval: drops a peer that did not answer the last ping, re-checks the token. */
  heartbeat(): void {
    if (this.state !== 'open') return;
    if (!this.alive) {
      this.log.info('realtime: peer did not answer ping; dropped');
      this.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
    this.send({ type: 'heartbeat', sequence: this.channel!.seq, at: this.hub.clock.now().toISOString() });
    this.enqueue(async () => {
      try {
        await this.refresh(this.access!.authorization);
      } catch (error) {
        // The database is unreachable, not the token refused: keep the socket and check again next time.
        this.log.warn({ err: error }, 'realtime: re-checking a token failed');
      }
    });
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (this.pending >= MAX_PENDING_MESSAGES) {
      this.close(1008, 'too many messages waiting');
      return;
    }
    this.enqueue(() => this.handle(data, isBinary));
  }

  /** Runs tasks one after the other; an unexpected failure closes the socket with 1011. */
  private enqueue(task: () => Promise<void>): void {
    this.pending++;
    this.queue = this.queue
      .then(task)
      .catch((error: unknown) => this.fail(error))
      .finally(() => this.pending--);
  }

  private fail(error: unknown): void {
    this.log.error({ err: error }, 'realtime: stream failed');
    this.close(CLOSE.internalError, 'internal error');
  }

  private async handle(data: RawData, isBinary: boolean): Promise<void> {
    if (this.state === 'closed') return;
    const message = parseClientMessage(data, isBinary);
    if (this.state === 'awaiting-auth') {
      if (message instanceof KithError || message.type !== 'auth') {
        this.close(CLOSE.unauthenticated, 'the first message must be {"type":"auth","token":…}');
        return;
      }
      this.state = 'authenticating';
      clearTimeout(this.authTimer);
      const access = await this.checked(`Bearer ${message.token}`);
      if (access) await this.authenticated(access);
      return;
    }
    if (this.state !== 'open') return;
    if (message instanceof KithError) {
      this.sendError(message);
      return;
    }
    switch (message.type) {
      case 'auth':
        if (await this.refresh(`Bearer ${message.token}`))
          this.send({
            type: 'authenticated',
            expiresAt: this.access!.principal.tokenExpiresAt.toISOString(),
          });
        return;
      case 'subscribe':
        await this.subscribe(message);
        return;
      case 'unsubscribe':
        this.subscriptions.delete(message.id);
        this.send({ type: 'unsubscribed', subscription: message.id });
        return;
      case 'ping':
        this.send({ type: 'pong' });
        return;
    }
  }

  /** The access of a token, or undefined after closing the socket with the reason it was refused. */
  private async checked(authorization: string): Promise<Access | undefined> {
    try {
      return await resolveAccess(this.hub.authenticator, authorization, this.target, this.view);
    } catch (error) {
      if (!(error instanceof KithError)) throw error;
      this.hub.recordRefused(this.target, error);
      this.sendError(error);
      this.close(error.status === 403 ? CLOSE.forbidden : CLOSE.unauthenticated, error.code);
      return undefined;
    }
  }

  /**
   * Re-checks the socket's token (each heartbeat) or takes a new one (an auth message on an open socket, to
   * outlive the first token). Expired, disabled or no longer granted: the socket closes as HTTP would refuse.
   * A narrowed policy narrows the subscriptions.
   */
  private async refresh(authorization: string): Promise<boolean> {
    const access = await this.checked(authorization);
    if (!access || this.state !== 'open') return false;
    if (access.principal.clientId !== this.access!.principal.clientId) {
      this.sendError(denied(access.principal, this.target.url));
      this.close(CLOSE.forbidden, 'a token of another API client');
      return false;
    }
    this.access = access;
    const readable = readableTypes(access.principal, this.view);
    for (const sub of this.subscriptions.values()) {
      const types = (sub.requested ?? readable).filter((t) => readable.includes(t));
      if (types.length > 0) sub.types = new Set(types);
      else {
        this.subscriptions.delete(sub.id);
        this.sendError(denied(access.principal, this.target.url), sub.id);
      }
    }
    return true;
  }

  private async subscribe(message: SubscribeMessage): Promise<void> {
    const { principal, scope } = this.access!;
    const existing = this.subscriptions.get(message.id);
    if (!existing && this.subscriptions.size >= this.hub.limits.maxSubscriptions) {
      const limit = `is one more than the ${this.hub.limits.maxSubscriptions} subscriptions a socket may hold`;
      this.sendError(invalidFields([{ field: 'id', message: limit }]), message.id);
      return;
    }
    const offered = message.types?.findIndex((t) => !this.view.types.includes(t as EventType)) ?? -1;
    if (offered >= 0) {
      const problem = { field: `types[${offered}]`, message: 'is not an event type of this stream' };
      this.sendError(invalidFields([problem]), message.id);
      return;
    }
    const readable = readableTypes(principal, this.view);
    if (message.types?.some((t) => !readable.includes(t as EventType))) {
      this.sendError(denied(principal, this.target.url), message.id);
      return;
    }
    let resumeAfter: number | undefined;
    if (message.lastEventId !== undefined) {
      try {
        resumeAfter = await this.hub.resumePoint(scope, message.lastEventId);
      } catch (error) {
        if (!(error instanceof KithError)) throw error;
        this.sendError(error, message.id);
        return;
      }
    }
    if (this.state !== 'open') return;
    // From here to the end, synchronous: the position is fixed against channel.seq with no delivery in between.
    const channel = this.channel!;
    const position = resumeAfter ?? existing?.position ?? channel.seq;
    const requested = message.types as EventType[] | undefined;
    const sub: Subscription = {
      id: message.id,
      idJson: JSON.stringify(message.id),
      requested,
      types: new Set(requested ?? readable),
      resources: message.resourceIds ? new Set(message.resourceIds) : null,
      position,
      live: position >= channel.seq,
    };
    this.subscriptions.set(sub.id, sub);
    this.send({
      type: 'subscribed',
      subscription: sub.id,
      types: [...sub.types],
      resourceIds: message.resourceIds ?? null,
      sequence: position,
    });
    if (!sub.live) this.catchUp(sub).catch((error: unknown) => this.fail(error));
  }

  /**
   * Sends what a resumed subscription missed, page by page from the events table, then turns it live once its
   * position has reached the channel's: from then on live events continue exactly after the last one read.
   */
  private async catchUp(sub: Subscription): Promise<void> {
    const current = () => this.state === 'open' && this.subscriptions.get(sub.id) === sub;
    try {
      while (current()) {
        const page = await this.hub.readAfter(this.access!.scope, sub.position);
        if (!current()) return;
        for (const event of page.events) {
          if (event.sequence <= sub.position) continue;
          // Pace by the client: wait for the send buffer to empty instead of reading further ahead.
          if (this.socket.bufferedAmount > this.hub.limits.maxBufferedBytes / 2 && !(await this.drained()))
            return;
          if (!current()) return;
          sub.position = event.sequence;
          if (matches(sub, event)) this.socket.send(eventMessage(sub, encodeEvent(this.view, event)));
        }
        if (!page.hasMore && sub.position >= this.channel!.seq) {
          sub.live = true;
          this.send({ type: 'live', subscription: sub.id, sequence: sub.position });
          return;
        }
        // Behind the channel yet nothing more to read: the channel read a commit this read did not see yet.
        if (page.events.length === 0) await delay(DRAIN_POLL_MS);
      }
    } catch (error) {
      if (!(error instanceof KithError)) throw error;
      this.subscriptions.delete(sub.id);
      this.sendError(error, sub.id);
    }
  }

  /** Resolves true once the send buffer is down to a quarter of the cap; false (socket closed) if it never is. */
  private async drained(): Promise<boolean> {
    const deadline = Date.now() + 2 * this.hub.limits.heartbeatMs;
    while (this.socket.bufferedAmount > this.hub.limits.maxBufferedBytes / 4) {
      if (this.state === 'closed') return false;
      if (Date.now() > deadline) {
        this.close(CLOSE.slowConsumer, 'slow consumer: the send buffer did not empty');
        return false;
      }
      await delay(DRAIN_POLL_MS);
    }
    return this.state !== 'closed';
  }

  /** Sends one live event, or closes the socket if the client has let too much pile up. */
  private sendEvent(sub: Subscription, delivery: Delivery): boolean {
    if (this.socket.bufferedAmount > this.hub.limits.maxBufferedBytes) {
      this.close(CLOSE.slowConsumer, 'slow consumer: send buffer over the limit');
      return false;
    }
    const encoded = encodedFor(delivery, this.view);
    let message = encoded.messages.get(sub.idJson);
    if (!message) {
      message = Buffer.from(eventMessage(sub, encoded.json));
      encoded.messages.set(sub.idJson, message);
    }
    this.socket.send(message, { binary: false });
    return true;
  }

  private send(message: ServerMessage): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private sendError(error: KithError, subscription?: string): void {
    const errors = renderError(error, this.hub.clock.now());
    this.send({ type: 'error', ...(subscription === undefined ? {} : { subscription }), errors });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
