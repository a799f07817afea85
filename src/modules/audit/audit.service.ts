// The audit log. Changes are appended inside the changing transaction (a Writes recorder), so a change and its
// audit row commit together or not at all. Reads, lists and refusals are hot paths: they are buffered in memory
// and appended in batches (every FLUSH_MS, sooner once BATCH rows wait, and on close), so a request never waits on
// an audit write. A process killed outright loses what was buffered: at most FLUSH_MS of reads and refusals.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { LRUCache } from 'lru-cache';
import type { Database, Db } from '../../db/database.ts';
import type { Clock } from '../../platform/clock.ts';
import { ANONYMOUS_ACTOR } from '../../platform/http/context.ts';
import type { PageRequest } from '../../platform/http/pagination.ts';
import type { Change, WriteContext, WriteTx } from '../../platform/writes.ts';
import { link, type ChainedRow } from './audit.chain.ts';
import * as repo from './audit.repository.ts';
import { SYSTEM_CHAIN, type AuditEntry, type AuditItem, type AuditResource } from './audit.schemas.ts';
import { verifyChains, type ChainReport } from './audit.verify.ts';

/** Where a request came from, kept while it runs so the rows of the changes it makes can say so. */
export interface RequestOrigin {
  method: string;
  route: string | null;
  ip: string | null;
  userAgent: string | null;
}

interface Log {
  error(details: object, message: string): void;
}

export interface AuditServiceDeps {
  database: Database;
  clock: Clock;
  /** How long a buffered row may wait before it is appended. */
  flushMs?: number;
  /** Rows that trigger an append without waiting for the timer. */
  batch?: number;
  /** Rows kept while the database cannot take them; beyond this they are counted and dropped. */
  maxBuffered?: number;
}

const FLUSH_MS = 100;
const BATCH = 200;
const MAX_BUFFERED = 50_000;
const RETRY_MS = 1000;

const newId = () => `aud_${randomUUID().replace(/-/g, '')}`;

export class AuditService {
  private buffer: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private dropped = 0;
  private log: Log = {
    error: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`),
  };
  /** Request id → origin of in-flight requests that may write (ambiguous where two share one id). */
  private readonly origins = new LRUCache<string, RequestOrigin | { ambiguous: true }>({ max: 10_000 });
  /** Tenant name → id (false: no such tenant), for anonymous requests that name a tenant in their path. */
  private readonly tenantIds = new LRUCache<string, string | false>({ max: 10_000, ttl: 60_000 });
  private readonly flushMs: number;
  private readonly batch: number;
  private readonly maxBuffered: number;

  constructor(private readonly deps: AuditServiceDeps) {
    this.flushMs = deps.flushMs ?? FLUSH_MS;
    this.batch = deps.batch ?? BATCH;
    this.maxBuffered = deps.maxBuffered ?? MAX_BUFFERED;
  }

  useLog(log: Log): void {
    this.log = log;
  }

  /** The write-path recorder: one row per change, in the change's transaction, on the tenant's chain. */
  readonly record = async (tx: WriteTx, changes: readonly Change[]): Promise<void> => {
    const { scope, actor, requestId } = tx.ctx;
    const found = this.origins.get(requestId);
    const origin = found && !('ambiguous' in found) ? found : undefined;
    const entries = changes.map((change): AuditEntry => ({
      tenantId: scope.tenantId,
      tenantName: null,
      at: tx.now,
      instanceId: scope.instanceId,
      instance: scope.instance,
      actorType: actor.id === ANONYMOUS_ACTOR.id ? 'ANONYMOUS' : 'API_CLIENT',
      actorId: actor.id,
      actorName: actor.name,
      action: change.action,
      resourceType: change.resource,
      resourceId: change.id,
      method: origin?.method ?? null,
      route: origin?.route ?? null,
      status: null,
      ip: origin?.ip ?? null,
      userAgent: origin?.userAgent ?? null,
      requestId,
      query: null,
      resultCount: null,
      resultTotal: null,
    }));
    await this.appendTo(tx.db, scope.tenantId, entries);
  };

  /**
   * Records an administrator's change (made through the CLI: clients, policies, tenants, instances) inside the
   * transaction that makes it, on the tenant's chain.
   */
  async recordAdmin(db: Db, change: AdminChange): Promise<void> {
    const entry: AuditEntry = {
      ...blankEntry(this.deps.clock.now().toISOString()),
      tenantId: change.tenantId,
      instanceId: change.instanceId ?? null,
      instance: change.instance ?? null,
      actorType: 'SYSTEM',
      actorName: adminActor(),
      action: change.action,
      resourceType: change.resource,
      resourceId: change.id,
      method: 'CLI',
      route: change.command,
    };
    await this.appendTo(db, change.tenantId, [entry]);
  }

  trackOrigin(requestId: string, origin: RequestOrigin): void {
    // Request ids may come from the caller (X-Request-Id): two in flight at once cannot be told apart.
    this.origins.set(requestId, this.origins.has(requestId) ? { ambiguous: true } : origin);
  }

  /** Forgets a request's origin (unless another request with the same id made it ambiguous). */
  releaseOrigin(requestId: string, origin: RequestOrigin): void {
    if (this.origins.get(requestId) === origin) this.origins.delete(requestId);
  }

  /** Buffers a row of a read, a list or a refusal; it is appended within flushMs. */
  enqueue(entry: AuditEntry): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.batch) this.startFlush();
    else this.timer ??= setTimeout(() => this.startFlush(), this.flushMs).unref();
  }

  /**
   * Records an export, for export routes to call before sending any data: unlike reads it is appended at once
   * (awaited), so an export is never served unrecorded. `origin` comes from requestOrigin(request).
   */
  async recordExport(
    ctx: WriteContext,
    details: { resource: string; query?: Record<string, unknown>; count?: number },
    origin?: RequestOrigin,
  ): Promise<void> {
    await this.appendNow({
      ...blankEntry(this.deps.clock.now().toISOString()),
      tenantId: ctx.scope.tenantId,
      instanceId: ctx.scope.instanceId,
      instance: ctx.scope.instance,
      actorType: 'API_CLIENT',
      actorId: ctx.actor.id,
      actorName: ctx.actor.name,
      action: 'exported',
      resourceType: details.resource,
      ...origin,
      requestId: ctx.requestId,
      query: details.query ?? null,
      resultCount: details.count ?? null,
    });
  }

  /** Appends a row at once, in its own transaction. */
  async appendNow(entry: AuditEntry): Promise<void> {
    for (const [chain, entries] of await this.byChain([entry])) {
      await this.deps.database.db.transaction().execute((tx) => this.appendTo(tx, chain, entries));
    }
  }

  /** Appends everything buffered so far (tests call it; close calls it). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0 && this.dropped === 0) return;
    this.flushing = this.flushBuffered().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) {
      this.log.error({ rows: this.buffer.length }, 'audit rows lost at shutdown: the database refused them');
    }
  }

  async list(tenantId: string, filter: repo.AuditFilter, page: PageRequest) {
    const { db } = this.deps.database;
    const [rows, total] = await Promise.all([
      repo.list(tenantId, db, filter, page),
      repo.count(tenantId, db, filter),
    ]);
    return { items: rows.map(toItem), total };
  }

  /** Walks the chains (one tenant's, or all) and reports the first broken place of each. */
  verify(options: { tenantId?: string } = {}): Promise<ChainReport[]> {
    return verifyChains(this.deps.database.db, options);
  }

  private startFlush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.flush();
  }

  /** Never throws: what could not be appended goes back to the front of the buffer and is retried later. */
  private async flushBuffered(): Promise<void> {
    const batch = this.buffer.splice(0);
    if (this.dropped > 0) batch.push(this.droppedMarker());
    let pending: Array<[string, AuditEntry[]]> = [];
    try {
      pending = [...(await this.byChain(batch))];
      while (pending.length > 0) {
        const [chain, entries] = pending[0]!;
        await this.deps.database.db.transaction().execute((tx) => this.appendTo(tx, chain, entries));
        pending.shift();
      }
    } catch (error) {
      const unwritten = pending.length > 0 ? pending.flatMap(([, entries]) => entries) : batch;
      this.log.error({ err: error, rows: unwritten.length }, 'audit rows not appended yet; will retry');
      this.buffer = [...unwritten, ...this.buffer];
      if (this.buffer.length > this.maxBuffered) {
        this.dropped += this.buffer.length - this.maxBuffered;
        this.buffer.length = this.maxBuffered;
      }
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.startFlush(), RETRY_MS).unref();
    }
  }

  /** Marks, on the system chain, that rows were lost to a full buffer: the gap is recorded, never silent. */
  private droppedMarker(): AuditEntry {
    const count = this.dropped;
    this.dropped = 0;
    return {
      ...blankEntry(this.deps.clock.now().toISOString()),
      actorType: 'SYSTEM',
      action: 'dropped',
      resultCount: count,
    };
  }

  private async appendTo(db: Db, chain: string, entries: readonly AuditEntry[]): Promise<void> {
    const head = await repo.reserve(chain, db, entries.length);
    const rows: ChainedRow[] = link(
      chain,
      head,
      entries.map((entry) => ({ id: newId(), entry })),
    );
    await repo.append(chain, db, this.deps.database.engine, rows);
  }

  /** Groups entries by chain, resolving the tenant names of anonymous requests (unknown ones: system chain). */
  private async byChain(entries: readonly AuditEntry[]): Promise<Map<string, AuditEntry[]>> {
    const unknown = [
      ...new Set(
        entries.flatMap((e) => (e.tenantId === null && e.tenantName !== null ? [e.tenantName] : [])),
      ),
    ].filter((name) => !this.tenantIds.has(name));
    if (unknown.length > 0) {
      const found = await repo.findTenantIds(this.deps.database.db, unknown);
      for (const name of unknown) this.tenantIds.set(name, found.get(name) ?? false);
    }
    const chains = new Map<string, AuditEntry[]>();
    for (const entry of entries) {
      const chain =
        entry.tenantId ??
        ((entry.tenantName !== null && this.tenantIds.get(entry.tenantName)) || SYSTEM_CHAIN);
      const list = chains.get(chain);
      if (list) list.push(entry);
      else chains.set(chain, [entry]);
    }
    return chains;
  }
}

/** An administrator's change, as the CLI's services describe it. */
export interface AdminChange {
  tenantId: string;
  instanceId?: string;
  instance?: string;
  action: 'created' | 'updated' | 'deleted';
  resource: AuditResource;
  /** The changed thing's id (a client's key, a policy's or an instance's name). */
  id: string;
  /** The command that made it, e.g. `kith admin client rotate-secret`. */
  command: string;
}

/** Who ran the CLI: the operating-system user, as far as it can be known. */
function adminActor(): string {
  try {
    return `ADMIN:${os.userInfo().username}@${os.hostname()}`;
  } catch {
    // No passwd entry for the uid (common in containers).
    return `ADMIN:uid-${process.getuid?.() ?? 'unknown'}@${os.hostname()}`;
  }
}

/** An entry with nothing known but its time, for builders to fill in. */
export function blankEntry(at: string): AuditEntry {
  return {
    tenantId: null,
    tenantName: null,
    at,
    instanceId: null,
    instance: null,
    actorType: 'ANONYMOUS',
    actorId: null,
    actorName: null,
    action: 'denied',
    resourceType: null,
    resourceId: null,
    method: null,
    route: null,
    status: null,
    ip: null,
    userAgent: null,
    requestId: null,
    query: null,
    resultCount: null,
    resultTotal: null,
  };
}

function outcomeOf(row: ChainedRow): AuditItem['outcome'] {
  if (row.status === 401 || row.status === 403) return 'DENIED';
  if (row.status === 404) return 'NOT_FOUND';
  return 'SUCCESS';
}

function toItem(row: ChainedRow): AuditItem {
  const entity = row.resourceType?.toUpperCase() ?? null;
  return {
    eventId: row.id,
    sentAt: row.at,
    eventEntity: entity,
    eventSubtype: [entity, row.action.toUpperCase()].filter(Boolean).join('_'),
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    subjectActor: row.actorType,
    subjectUserId: row.actorId,
    subjectFullName: row.actorName,
    instance: row.instance,
    outcome: outcomeOf(row),
    status: row.status,
    method: row.method,
    route: row.route,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    query: row.query === null ? null : (JSON.parse(row.query) as Record<string, unknown>),
    resultCount: row.resultCount,
    resultTotal: row.resultTotal,
    sequence: row.seq,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
