// The crash test's load: a few concurrent writers creating, patching, deleting, restoring and purging contacts
// over HTTP while the server is killed under them, and the log of what each write's answer told them.
//
// Each contact belongs to one writer, which changes it one request at a time, so its history is a sequence.
// A write answered 2xx is acknowledged. A write that got no answer (connection reset, killed mid-request) may or
// may not have committed: the writer then leaves that contact alone for good, so at most the last write of a
// contact is uncertain and its final state is either the acknowledged one or the one after that last write. A
// refused connection (the server is down) sent nothing, so it is simply tried again later.
import { sleep } from './kith-process.ts';

export type OpKind = 'create' | 'patch' | 'delete' | 'restore' | 'purge';

export interface Op {
  kind: OpKind;
  /** Unique per write: a create or patch stores it in `notes`, so an event can be matched to its write. */
  marker: string;
  outcome: 'acked' | 'unknown';
}

export interface TrackedContact {
  /** Stored as lastName at creation and never changed: finds the row even when the create was not answered. */
  key: string;
  /** Known once the create is acknowledged. */
  id?: string;
  ops: Op[];
  /** An answer went missing: no further writes to this contact. */
  retired: boolean;
}

/** A contact's state as far as this test is concerned. */
export interface ContactState {
  exists: boolean;
  deleted: boolean;
  notes: string | null;
}

export const ABSENT: ContactState = { exists: false, deleted: false, notes: null };

/** The state a write leaves behind. */
export function apply(state: ContactState, op: Op): ContactState {
  switch (op.kind) {
    case 'create':
      return { exists: true, deleted: false, notes: op.marker };
    case 'patch':
      return { ...state, notes: op.marker };
    case 'delete':
      return { ...state, deleted: true };
    case 'restore':
      return { ...state, deleted: false };
    case 'purge':
      return ABSENT;
  }
}

export interface WriteLog {
  contacts: TrackedContact[];
  /** Answers that were neither 2xx nor a lost connection: none is expected. */
  unexpected: string[];
  counts: { acked: number; unknown: number; refused: number };
}

type Outcome =
  { kind: 'answered'; status: number; body: unknown } | { kind: 'refused' } | { kind: 'lost'; error: string };

function codeOf(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

export interface LoopOptions {
  baseUrl: string;
  /** `/{tenant}/{instance}` */
  root: string;
  token: string;
  writers: number;
}

/** Starts the writers; `stop()` lets each finish its current request and resolves with the log. */
export function startWriteLoop(options: LoopOptions): { log: WriteLog; stop(): Promise<WriteLog> } {
  const log: WriteLog = { contacts: [], unexpected: [], counts: { acked: 0, unknown: 0, refused: 0 } };
  let stopped = false;

  async function send(method: string, path: string, body?: unknown): Promise<Outcome> {
    try {
      const res = await fetch(`${options.baseUrl}${options.root}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      return { kind: 'answered', status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    } catch (error) {
      // Refused: nothing reached a server. Anything else (reset, closed mid-answer, timeout) may have committed.
      if (codeOf(error) === 'ECONNREFUSED') return { kind: 'refused' };
      return { kind: 'lost', error: codeOf(error) ?? (error as Error).message };
    }
  }

  async function writer(w: number): Promise<void> {
    const mine: TrackedContact[] = [];
    let n = 0;
    while (!stopped) {
      const active = mine.filter((c) => !c.retired && c.id !== undefined);
      const live = active.filter((c) => !isDeleted(c));
      let contact: TrackedContact;
      let op: Op;
      let request: [string, string, unknown?];
      const marker = `w${w}-op${++n}`;
      if (live.length < 3 || Math.random() < 0.25) {
        contact = { key: `crash-w${w}-c${n}`, ops: [], retired: false };
        op = { kind: 'create', marker, outcome: 'acked' };
        request = ['POST', '/contacts', { firstName: 'Crash', lastName: contact.key, notes: marker }];
      } else {
        contact = active[Math.floor(Math.random() * active.length)]!;
        const r = Math.random();
        if (isDeleted(contact)) {
          const kind = r < 0.6 ? 'restore' : 'purge';
          op = { kind, marker, outcome: 'acked' };
          request =
            kind === 'restore'
              ? ['POST', `/contacts/${contact.id}/restore`]
              : ['DELETE', `/contacts/${contact.id}?permanent=true`];
        } else if (r < 0.75) {
          op = { kind: 'patch', marker, outcome: 'acked' };
          request = ['PATCH', `/contacts/${contact.id}`, { notes: marker }];
        } else {
          op = { kind: 'delete', marker, outcome: 'acked' };
          request = ['DELETE', `/contacts/${contact.id}`];
        }
      }
      const outcome = await send(...request);
      if (outcome.kind === 'refused') {
        log.counts.refused++;
        await sleep(50);
        continue;
      }
      if (op.kind === 'create') {
        mine.push(contact);
        log.contacts.push(contact);
      }
      if (outcome.kind === 'lost' || outcome.status >= 500) {
        contact.ops.push({ ...op, outcome: 'unknown' });
        contact.retired = true;
        log.counts.unknown++;
        continue;
      }
      if (outcome.status >= 300) {
        contact.ops.push({ ...op, outcome: 'unknown' });
        contact.retired = true;
        log.unexpected.push(
          `${request[0]} ${request[1]} → ${outcome.status} ${JSON.stringify(outcome.body)}`,
        );
        continue;
      }
      contact.ops.push(op);
      log.counts.acked++;
      if (op.kind === 'create') contact.id = (outcome.body as { id: string }).id;
      if (op.kind === 'purge') contact.retired = true;
    }
  }

  const writers = Array.from({ length: options.writers }, (_, w) => writer(w + 1));
  return {
    log,
    stop: async () => {
      stopped = true;
      await Promise.all(writers);
      return log;
    },
  };
}

function isDeleted(contact: TrackedContact): boolean {
  return contact.ops.reduce(apply, ABSENT).deleted;
}
