// SQL for the audit log and its chain heads. The log is tenant-level: functions take the chain (the tenant's id)
// first, where other repositories take the instance scope.
import type { Selectable } from 'kysely';
import type { Db, Engine } from '../../db/database.ts';
import type { AuditLogTable } from '../../db/schema.ts';
import { toIso } from '../../db/values.ts';
import type { PageRequest } from '../../platform/http/pagination.ts';
import { offsetOf } from '../../platform/http/pagination.ts';
import { GENESIS, type ChainedRow } from './audit.chain.ts';
import type { ActorType, AuditAction } from './audit.schemas.ts';

/** Rows per INSERT statement: well under both engines' limits on bound parameters. */
const INSERT_CHUNK = 100;

/**
 * Reserves `count` places at the end of a chain and returns the new last place with the hash of the row before
 * the reserved ones. The upsert takes the head row's lock on PostgreSQL (SQLite has one writer), so appenders
 * on every node queue here until the appending transaction commits.
 */
export async function reserve(chain: string, db: Db, count: number) {
  const row = await db
    .insertInto('audit_chains')
    .values({ chain, last_seq: count, last_hash: GENESIS })
    .onConflict((oc) =>
      oc.column('chain').doUpdateSet((eb) => ({
        last_seq: eb('audit_chains.last_seq', '+', eb.ref('excluded.last_seq')),
      })),
    )
    .returning(['last_seq', 'last_hash'])
    .executeTakeFirstOrThrow();
  return { lastSeq: Number(row.last_seq), lastHash: row.last_hash };
}

/**
 * Inserts the reserved rows and moves the chain head's hash to the last one. On PostgreSQL the last chunk and the
 * head share one statement: appends run while the head's lock is held, until commit, and every statement is a
 * round trip to the server.
 */
export async function append(
  chain: string,
  db: Db,
  engine: Engine,
  rows: readonly ChainedRow[],
): Promise<void> {
  const lastChunk = Math.floor((rows.length - 1) / INSERT_CHUNK) * INSERT_CHUNK;
  for (let i = 0; i < lastChunk; i += INSERT_CHUNK) {
    await db
      .insertInto('audit_log')
      .values(rows.slice(i, i + INSERT_CHUNK).map(toDbRow))
      .execute();
  }
  const last = rows.slice(lastChunk).map(toDbRow);
  const lastHash = rows.at(-1)!.hash;
  if (engine === 'postgres') {
    await db
      .with('appended', (q) => q.insertInto('audit_log').values(last))
      .updateTable('audit_chains')
      .set({ last_hash: lastHash })
      .where('chain', '=', chain)
      .execute();
    return;
  }
  await db.insertInto('audit_log').values(last).execute();
  await db.updateTable('audit_chains').set({ last_hash: lastHash }).where('chain', '=', chain).execute();
}

export async function findHead(chain: string, db: Db) {
  const row = await db
    .selectFrom('audit_chains')
    .select(['last_seq', 'last_hash'])
    .where('chain', '=', chain)
    .executeTakeFirst();
  return { lastSeq: Number(row?.last_seq ?? 0), lastHash: row?.last_hash ?? GENESIS };
}

/** Rows of a chain with `after < seq <= through`, in order (the verifier pages through a chain with this). */
export async function walk(chain: string, db: Db, range: { after: number; through: number; limit: number }) {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('chain', '=', chain)
    .where('seq', '>', range.after)
    .where('seq', '<=', range.through)
    .orderBy('seq')
    .limit(range.limit)
    .execute();
  return rows.map(fromDbRow);
}

/** The first row past a chain's head: a row that was added without going through the head. */
export async function findPastHead(chain: string, db: Db, lastSeq: number) {
  const row = await db
    .selectFrom('audit_log')
    .select(['id', 'seq'])
    .where('chain', '=', chain)
    .where('seq', '>', lastSeq)
    .orderBy('seq')
    .executeTakeFirst();
  return row && { id: row.id, seq: Number(row.seq) };
}

/** Every chain with its tenant's name (null for the system chain and for tenants since deleted). */
export function listChains(db: Db) {
  return db
    .selectFrom('audit_chains')
    .leftJoin('tenants', 'tenants.id', 'audit_chains.chain')
    .select(['audit_chains.chain', 'tenants.name'])
    .orderBy('audit_chains.chain')
    .execute();
}

/** Tenant ids by name, for the names that exist. */
export async function findTenantIds(db: Db, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const rows = await db.selectFrom('tenants').select(['id', 'name']).where('name', 'in', names).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

export interface AuditFilter {
  /** Instances whose rows the reader may see; rows of no instance are always visible. */
  visibleInstanceIds: readonly string[];
  instanceId?: string;
  actor?: string;
  resourceType?: string;
  resourceId?: string;
  action?: AuditAction;
  dateStart?: string;
  dateEnd?: string;
}

function filtered(chain: string, db: Db, filter: AuditFilter) {
  let query = db
    .selectFrom('audit_log')
    .where('chain', '=', chain)
    .where((eb) =>
      filter.visibleInstanceIds.length === 0
        ? eb('instance_id', 'is', null)
        : eb.or([eb('instance_id', 'is', null), eb('instance_id', 'in', filter.visibleInstanceIds)]),
    );
  if (filter.instanceId !== undefined) query = query.where('instance_id', '=', filter.instanceId);
  if (filter.actor !== undefined) {
    const actor = filter.actor;
    query = query.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_name', '=', actor)]));
  }
  if (filter.resourceType !== undefined) query = query.where('resource_type', '=', filter.resourceType);
  if (filter.resourceId !== undefined) query = query.where('resource_id', '=', filter.resourceId);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.dateStart !== undefined) query = query.where('at', '>=', filter.dateStart);
  if (filter.dateEnd !== undefined) query = query.where('at', '<', filter.dateEnd);
  return query;
}

export async function list(chain: string, db: Db, filter: AuditFilter, page: PageRequest) {
  const rows = await filtered(chain, db, filter)
    .selectAll()
    .orderBy('at', 'desc')
    .orderBy('seq', 'desc')
    .limit(page.size)
    .offset(offsetOf(page))
    .execute();
  return rows.map(fromDbRow);
}

export async function count(chain: string, db: Db, filter: AuditFilter): Promise<number> {
  const row = await filtered(chain, db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** An audit_log row as read (Selectable turns the timestamp into what the driver returns). */
type DbRow = Selectable<AuditLogTable>;

function toDbRow(r: ChainedRow) {
  return {
    id: r.id,
    chain: r.chain,
    seq: r.seq,
    at: r.at,
    instance_id: r.instanceId,
    instance: r.instance,
    actor_type: r.actorType,
    actor_id: r.actorId,
    actor_name: r.actorName,
    action: r.action,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    method: r.method,
    route: r.route,
    status: r.status,
    ip: r.ip,
    user_agent: r.userAgent,
    request_id: r.requestId,
    query: r.query,
    result_count: r.resultCount,
    result_total: r.resultTotal,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

/** Numbers come back as numbers on both engines (int8 is parsed, see db/database.ts); times become ISO text. */
function fromDbRow(r: DbRow): ChainedRow {
  return {
    id: r.id,
    chain: r.chain,
    seq: Number(r.seq),
    at: toIso(r.at),
    instanceId: r.instance_id,
    instance: r.instance,
    actorType: r.actor_type as ActorType,
    actorId: r.actor_id,
    actorName: r.actor_name,
    action: r.action as AuditAction,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    method: r.method,
    route: r.route,
    status: r.status === null ? null : Number(r.status),
    ip: r.ip,
    userAgent: r.user_agent,
    requestId: r.request_id,
    query: r.query,
    resultCount: r.result_count === null ? null : Number(r.result_count),
    resultTotal: r.result_total === null ? null : Number(r.result_total),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
