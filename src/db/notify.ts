// Waking other nodes when an instance has new events. PostgreSQL: NOTIFY on one channel, heard through a dedicated
// LISTEN connection that reconnects by itself. SQLite: nothing to do, since only one process serves a SQLite file
// and it wakes itself on commit.
import { sql } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';

const CHANNEL = 'kith_events';
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 15_000;

export interface EventWakeHandlers {
  /** Another node (or this one) committed events of the instance, up to `lastSeq`. */
  onWake(instanceId: string, lastSeq: number): void;
  /** The LISTEN connection was (re)established: announcements made while it was down are lost, so catch up. */
  onResync(): void;
  onError(error: unknown, context: string): void;
}

export interface EventNotifier {
  /**
   * Tells every node that the instance has new committed events. Fire-and-forget; while one announcement of an
   * instance is on its way, further ones are folded into a single follow-up, so a burst costs two NOTIFYs.
   */
  announce(instanceId: string): void;
  start(handlers: EventWakeHandlers): void;
  close(): Promise<void>;
}

export function createEventNotifier(database: Database, databaseUrl: string | undefined): EventNotifier {
  if (database.engine === 'sqlite' || databaseUrl === undefined) {
    return { announce: () => undefined, start: () => undefined, close: async () => undefined };
  }
  return new PostgresNotifier(database, databaseUrl);
}

/** `instanceId:lastSeq`; instance ids contain no colon, so the last one separates the two. */
export function parsePayload(
  payload: string | undefined,
): { instanceId: string; lastSeq: number } | undefined {
  const at = payload?.lastIndexOf(':') ?? -1;
  if (payload === undefined || at <= 0) return undefined;
  const lastSeq = Number(payload.slice(at + 1));
  return Number.isSafeInteger(lastSeq) ? { instanceId: payload.slice(0, at), lastSeq } : undefined;
}

class PostgresNotifier implements EventNotifier {
  private handlers: EventWakeHandlers | undefined;
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<string>();
  private readonly again = new Set<string>();

  constructor(
    private readonly database: Database,
    private readonly url: string,
  ) {}

  announce(instanceId: string): void {
    if (this.closed) return;
    if (this.sending.has(instanceId)) {
      this.again.add(instanceId);
      return;
    }
    this.sending.add(instanceId);
    void this.send(instanceId);
  }

  private async send(instanceId: string): Promise<void> {
    try {
      do {
        this.again.delete(instanceId);
        // The payload is read from the row in the same statement, so it names the latest committed sequence.
        await sql`select pg_notify(${CHANNEL}, instance_id || ':' || last_seq)
                  from event_sequences where instance_id = ${instanceId}`.execute(this.database.db);
      } while (this.again.has(instanceId) && !this.closed);
    } catch (error) {
      // Other nodes catch up on their next heartbeat poll; nothing is lost, only later.
      this.handlers?.onError(error, 'notify');
    } finally {
      this.sending.delete(instanceId);
    }
  }

  start(handlers: EventWakeHandlers): void {
    this.handlers = handlers;
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, keepAlive: true });
    this.client = client;
    let lost = false;
    const onLost = (error?: unknown) => {
      if (lost) return;
      lost = true;
      if (error !== undefined && !this.closed) this.handlers?.onError(error, 'listen');
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      const parsed = parsePayload(message.payload);
      if (parsed) this.handlers?.onWake(parsed.instanceId, parsed.lastSeq);
    });
    try {
      await client.connect();
      await client.query(`listen ${CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.reconnectDelay = RECONNECT_MIN_MS;
      this.handlers?.onResync();
    } catch (error) {
      onLost(error);
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners('notification');
    await client?.end().catch(() => undefined);
  }
}
