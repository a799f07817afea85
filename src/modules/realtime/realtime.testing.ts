// A stream client for the tests: a `ws` WebSocket that records what Kith sends and lets a test wait for it.
import WebSocket, { type ClientOptions } from 'ws';
import type { Kith } from '../../../test/harness.ts';
import type { Event } from '../events/events.schemas.ts';
import type { ServerMessage } from './realtime.schemas.ts';

/** A message from Kith, loosely typed for assertions (ServerMessage is the contract). */
export interface Received {
  type: ServerMessage['type'];
  subscription?: string;
  sequence?: number;
  event?: Event;
  errors?: Array<{ errorCode: string }>;
  [field: string]: unknown;
}

export interface Refusal {
  status: number;
  body: unknown;
}

export interface Closed {
  code: number;
  reason: string;
}

const WAIT_MS = 10_000;

export class StreamClient {
  readonly received: Received[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    // A reset connection is an outcome the tests look at through `closed`, not a crash of the test process.
    socket.on('error', () => undefined);
    socket.on('message', (data) => {
      this.received.push(JSON.parse((data as Buffer).toString()) as Received);
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        this.notify();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Opens a stream; with `token`, in the Authorization header, else without one (the browser way). */
  static connect(
    kith: Kith,
    path: string,
    token?: string,
    options: ClientOptions = {},
  ): Promise<StreamClient | Refusal> {
    const url = kith.baseUrl.replace(/^http/, 'ws') + path;
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    const socket = new WebSocket(url, { ...options, headers });
    const client = new StreamClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          socket.terminate();
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined });
        });
      });
    });
  }

  /** Connects with a header token and waits for `ready`; fails the test on a refusal. */
  static async open(kith: Kith, path: string, token?: string, authMessage?: string): Promise<StreamClient> {
    const client = await StreamClient.connect(kith, path, token);
    if (!(client instanceof StreamClient))
      throw new Error(`refused: ${client.status} ${JSON.stringify(client.body)}`);
    if (authMessage !== undefined) client.send({ type: 'auth', token: authMessage });
    await client.next((m) => m.type === 'ready');
    return client;
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Subscribes and waits for the acknowledgement (or the error answering it). */
  async subscribe(message: Record<string, unknown>): Promise<Received> {
    const from = this.received.length;
    this.send({ type: 'subscribe', ...message });
    return this.next(
      (m) => (m.type === 'subscribed' || m.type === 'error') && m.subscription === message.id,
      from,
    );
  }

  /** The first message from index `from` on that matches, waiting for it if need be. */
  async next(match: (m: Received) => boolean, from = 0, timeoutMs = WAIT_MS): Promise<Received> {
    const found = await this.until(() => this.received.slice(from).find(match), timeoutMs);
    return found;
  }

  /** Events received so far (of one subscription, if named). */
  events(subscription?: string): Event[] {
    return this.received
      .filter((m) => m.type === 'event' && (subscription === undefined || m.subscription === subscription))
      .map((m) => m.event!);
  }

  /** Waits until `count` events (of the subscription, if named) have arrived; returns them. */
  async eventsUntil(count: number, subscription?: string, timeoutMs = WAIT_MS): Promise<Event[]> {
    return this.until(() => {
      const events = this.events(subscription);
      return events.length >= count ? events : undefined;
    }, timeoutMs);
  }

  close(): void {
    this.socket.terminate();
  }

  private async until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`timed out; received: ${JSON.stringify(this.received.map((m) => m.type))}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Lets the server run: enough for an event that would wrongly be sent to arrive. */
export function settle(ms = 300): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
