// `kith admin audit verify`: walks each chain from its first row to the head it had when the walk began, then
// checks no row sits past the head. Safe while Kith runs: appends after the walk began are left for the next run.
import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { ChainWalker, type ChainProblem } from './audit.chain.ts';
import * as repo from './audit.repository.ts';
import { SYSTEM_CHAIN } from './audit.schemas.ts';

const PAGE = 1000;

export interface ChainReport {
  chain: string;
  /** The tenant's name; null for the system chain (or a tenant deleted since). */
  tenant: string | null;
  ok: boolean;
  rows: number;
  /** The last place and hash: keep them elsewhere to detect, later, a rewrite of the whole chain. */
  head: { seq: number; hash: string };
  problem: ChainProblem | null;
}

async function chainsToCheck(db: Kysely<DB>, tenantId: string | undefined) {
  if (tenantId !== undefined) {
    const tenant = await db
      .selectFrom('tenants')
      .select('name')
      .where('id', '=', tenantId)
      .executeTakeFirst();
    return [{ chain: tenantId, name: tenant?.name ?? null }];
  }
  const heads = await repo.listChains(db);
  // A chain whose head row was deleted still has rows: find those too.
  const orphans = await db
    .selectFrom('audit_log')
    .select('chain')
    .where('chain', 'not in', heads.length > 0 ? heads.map((h) => h.chain) : [''])
    .groupBy('chain')
    .execute();
  return [...heads, ...orphans.map((o) => ({ chain: o.chain, name: null }))];
}

export async function verifyChain(
  db: Kysely<DB>,
  chain: string,
  tenant: string | null,
): Promise<ChainReport> {
  const head = await repo.findHead(chain, db);
  const walker = new ChainWalker();
  let after = 0;
  for (;;) {
    const rows = await repo.walk(chain, db, { after, through: head.lastSeq, limit: PAGE });
    if (!rows.every((row) => walker.next(row)) || rows.length < PAGE) break;
    after = rows.at(-1)!.seq;
  }
  let problem = walker.end(head);
  if (!problem) {
    // Rows appended since the walk began are past the head read then, but also within the head as it is now.
    const now = await repo.findHead(chain, db);
    const extra = await repo.findPastHead(chain, db, now.lastSeq);
    if (extra) {
      problem = {
        kind: 'inserted',
        seq: extra.seq,
        rowId: extra.id,
        message: `row ${extra.seq}: it is past the chain's head (${now.lastSeq}), added outside the log`,
      };
    }
  }
  return {
    chain,
    tenant: chain === SYSTEM_CHAIN ? null : tenant,
    ok: problem === undefined,
    rows: walker.rows,
    head: { seq: head.lastSeq, hash: head.lastHash },
    problem: problem ?? null,
  };
}

export async function verifyChains(db: Kysely<DB>, options: { tenantId?: string }): Promise<ChainReport[]> {
  const reports: ChainReport[] = [];
  for (const { chain, name } of await chainsToCheck(db, options.tenantId)) {
    reports.push(await verifyChain(db, chain, name));
  }
  return reports;
}
