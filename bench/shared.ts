// What the parent (load generator) and the two server children (Kith and the raw node:http baseline) agree on:
// the cheap response body, the headers Kith adds to every response, and the messages sent over the IPC channel.
import { randomUUID } from 'node:crypto';

/** The small constant JSON every "cheap" route returns; each server serialises it per request. */
export const CHEAP_BODY = { ok: true, bench: 'cheap', items: [1, 2, 3] } as const;

/** A token-shaped response for the raw baseline of the token route (same size as a real Kith token). */
export const FAKE_TOKEN = `${'e'.repeat(36)}.${'p'.repeat(94)}.${'s'.repeat(43)}`;

/**
 * The headers Kith's onSend hook adds (x-request-id is a fresh UUID per request), so the raw baseline sends the
 * same bytes and the difference measured is framework and auth work, not header count.
 */
export function kithLikeHeaders(body: string): Record<string, string | number> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': randomUUID(),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  };
}

/** Sent by a server child once it listens. */
export interface ReadyMessage {
  type: 'ready';
  url: string;
  /** Kith only: the fixture the workloads use. */
  fixture?: { tenant: string; instance: string; apiClient: string; secret: string };
}

/**
 * The parent's requests to a child, each answered with a `reply`: `cpu` (the child's CPU time, so the parent can
 * work out the server's CPU time per request), `profile-start` / `profile-stop` (a V8 CPU profile of exactly one
 * measurement, written to `file`) and `stop` (close and exit; no reply).
 */
export type ControlMessage =
  { type: 'cpu' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string } | { type: 'stop' };

export interface ReplyMessage {
  type: 'reply';
  /** User + system CPU time of the child process so far, in microseconds. */
  cpuMicros: number;
}

const typed = (message: unknown, type: string) =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

export const isReady = (message: unknown): message is ReadyMessage => typed(message, 'ready');
export const isReply = (message: unknown): message is ReplyMessage => typed(message, 'reply');

/** In a child: answers the parent's control messages; `close` runs before the process exits on `stop`. */
export function answerParent(close: () => Promise<void>): void {
  // Loaded only when asked for, so an unprofiled run carries no inspector session.
  let profiler: Promise<typeof import('./profiler.ts')> | undefined;
  const handle = async (message: ControlMessage): Promise<void> => {
    if (message.type === 'stop') {
      await close().finally(() => process.exit(0));
      return;
    }
    if (message.type === 'profile-start') await (profiler ??= import('./profiler.ts')).then((p) => p.start());
    if (message.type === 'profile-stop') await profiler?.then((p) => p.stop(message.file));
    const { user, system } = process.cpuUsage();
    const reply: ReplyMessage = { type: 'reply', cpuMicros: user + system };
    process.send?.(reply);
  };
  process.on('message', (message: ControlMessage) => void handle(message));
}
