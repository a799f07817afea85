// The one path every change takes: a transaction, the time of the change, who made it, and the list of changes
// it made. Before the transaction commits, each recorder (the event outbox, the audit log) writes its rows for
// those changes in the same transaction, so nothing is observable for a change that did not commit; listeners
// run only after the commit.
import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import type { DB } from '../db/schema.ts';
import type { Clock } from './clock.ts';
import type { InstanceScope } from './http/context.ts';

export interface Actor {
  /** The API client's id. */
  id: string;
  /** Welkin's form, e.g. `API_CLIENT:billing sync`. */
  name: string;
}

export interface WriteContext {
  scope: InstanceScope;
  actor: Actor;
  requestId: string;
}

export type ResourceType = 'patient' | 'contact' | 'company';
export type ChangeAction = 'created' | 'updated' | 'deleted' | 'restored' | 'purged';

export interface Change {
  resource: ResourceType;
  id: string;
  action: ChangeAction;
  /** The resource after the change; null once it is gone (purged). */
  after: unknown;
}

export interface WriteTx {
  db: Transaction<DB>;
  /** The time of the change, ISO-8601: one value for every row the transaction touches. */
  now: string;
  ctx: WriteContext;
  record(change: Change): void;
}

export type CommitListener = (ctx: WriteContext, changes: readonly Change[]) => void;
/** Writes rows describing the changes inside the changing transaction. */
export type ChangeRecorder = (tx: WriteTx, changes: readonly Change[]) => Promise<void>;

export class Writes {
  private readonly listeners: CommitListener[] = [];
  private readonly recorders: ChangeRecorder[] = [];

  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  /** Runs `work` in one transaction: everything it writes commits together or not at all. */
  async run<T>(ctx: WriteContext, work: (tx: WriteTx) => Promise<T>): Promise<T> {
    const changes: Change[] = [];
    const now = this.clock.now().toISOString();
    const result = await this.database.db.transaction().execute(async (db) => {
      const tx: WriteTx = { db, now, ctx, record: (change) => changes.push(change) };
      const value = await work(tx);
      if (changes.length > 0) for (const recorder of this.recorders) await recorder(tx, changes);
      return value;
    });
    // After commit only: side effects must never announce a change that rolled back.
    for (const listener of this.listeners) listener(ctx, changes);
    return result;
  }

  onCommit(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /** Adds a recorder that writes its rows for every transaction's changes before it commits. */
  recordWith(recorder: ChangeRecorder): void {
    this.recorders.push(recorder);
  }
}
