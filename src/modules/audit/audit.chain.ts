// The hash chain. A row's hash is SHA-256 over the RFC 8785 (JCS) canonical JSON of all its fields, the previous
// row's hash included, so anyone can recompute it with any JCS library. Changing a row breaks its own hash;
// deleting or inserting one breaks the sequence, a link, or the chain head kept in audit_chains.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEntry } from './audit.schemas.ts';

/** The previous hash of a chain's first row. */
export const GENESIS = '0'.repeat(64);

/** Format version of the hashed record; bump it (and keep verifying the old one) if the fields ever change. */
const VERSION = 1;

/** A row as stored: the entry's fields, its place in a chain, and the two hashes. */
export interface ChainedRow extends Omit<AuditEntry, 'tenantId' | 'tenantName' | 'query'> {
  id: string;
  chain: string;
  seq: number;
  /** The redacted query as canonical JSON text (what is stored and hashed), or null. */
  query: string | null;
  prevHash: string;
  hash: string;
}

export type Unhashed = Omit<ChainedRow, 'hash'>;

/** Canonical JSON of a value, or null for null (stored as text so the hashed bytes are the stored ones). */
export function canonicalJson(value: unknown): string | null {
  return value === null || value === undefined ? null : (canonicalize(value) ?? null);
}

/** The hashed fields, in RFC 8785 order (keys sorted by UTF-16 code units, which `sort()` does). */
const HASHED = [
  'v',
  'id',
  'chain',
  'seq',
  'at',
  'instanceId',
  'instance',
  'actorType',
  'actorId',
  'actorName',
  'action',
  'resourceType',
  'resourceId',
  'method',
  'route',
  'status',
  'ip',
  'userAgent',
  'requestId',
  'query',
  'resultCount',
  'resultTotal',
  'prevHash',
].sort() as Array<keyof Unhashed | 'v'>;
const PREFIXES = HASHED.map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);

/**
 * The row's canonical JSON. Every hashed value is a string, an integer or null, for which RFC 8785 is exactly
 * JSON.stringify, so the fixed key order is spelled out here instead of sorting keys per row: appending is on
 * the read path's budget. A test checks this against the canonicalize library.
 */
export function canonicalRow(row: Unhashed): string {
  let text = '';
  for (let i = 0; i < HASHED.length; i++) {
    const key = HASHED[i]!;
    text += PREFIXES[i]! + JSON.stringify(key === 'v' ? VERSION : row[key]);
  }
  return `${text}}`;
}

export function hashRow(row: Unhashed): string {
  return createHash('sha256').update(canonicalRow(row)).digest('hex');
}

/** The same text through the general JCS library (for tests and for anyone re-implementing the check). */
export function canonicalRowByLibrary(row: Unhashed): string {
  return canonicalize(Object.fromEntries(HASHED.map((key) => [key, key === 'v' ? VERSION : row[key]])))!;
}

/** Gives entries consecutive places after the chain's head and links each to the one before. */
export function link(
  chain: string,
  head: { lastSeq: number; lastHash: string },
  entries: ReadonlyArray<{ id: string; entry: AuditEntry }>,
): ChainedRow[] {
  let prevHash = head.lastHash;
  const first = head.lastSeq - entries.length + 1;
  return entries.map(({ id, entry: e }, i) => {
    // Spelled out rather than spread: this runs for every audited request.
    const row: ChainedRow = {
      id,
      chain,
      seq: first + i,
      at: e.at,
      instanceId: e.instanceId,
      instance: e.instance,
      actorType: e.actorType,
      actorId: e.actorId,
      actorName: e.actorName,
      action: e.action,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      method: e.method,
      route: e.route,
      status: e.status,
      ip: e.ip,
      userAgent: e.userAgent,
      requestId: e.requestId,
      query: canonicalJson(e.query),
      resultCount: e.resultCount,
      resultTotal: e.resultTotal,
      prevHash,
      hash: '',
    };
    row.hash = hashRow(row);
    prevHash = row.hash;
    return row;
  });
}

export type ProblemKind = 'changed' | 'deleted' | 'inserted' | 'relinked';

export interface ChainProblem {
  kind: ProblemKind;
  /** The sequence number where the chain first stops adding up. */
  seq: number;
  rowId: string | null;
  message: string;
}

/**
 * Walks a chain's rows in sequence order and returns the first problem. The head is the chain's last committed
 * place when the walk started; rows after it (appended meanwhile) are checked by the caller.
 */
export class ChainWalker {
  private expected = 1;
  private prevHash = GENESIS;
  problem: ChainProblem | undefined;
  rows = 0;

  /** Feeds the next row; returns false once a problem is found (the walk can stop). */
  next(row: ChainedRow): boolean {
    if (this.problem) return false;
    this.rows++;
    if (row.seq !== this.expected) {
      return this.fail('deleted', this.expected, null, `${span(this.expected, row.seq - 1)} missing`);
    }
    if (hashRow(row) !== row.hash) {
      return this.fail('changed', row.seq, row.id, 'its contents do not match its hash');
    }
    if (row.prevHash !== this.prevHash) {
      return this.fail('relinked', row.seq, row.id, 'it does not link to the row before it');
    }
    this.expected = row.seq + 1;
    this.prevHash = row.hash;
    return true;
  }

  /** Checks the walk ended where the chain's head says it ends. */
  end(head: { lastSeq: number; lastHash: string }): ChainProblem | undefined {
    if (this.problem) return this.problem;
    const lastSeq = this.expected - 1;
    if (lastSeq < head.lastSeq) {
      this.fail('deleted', lastSeq + 1, null, `${span(lastSeq + 1, head.lastSeq)} missing`);
    } else if (this.prevHash !== head.lastHash) {
      this.fail('changed', lastSeq, null, 'the last row does not match the chain head');
    }
    return this.problem;
  }

  private fail(kind: ProblemKind, seq: number, rowId: string | null, message: string): false {
    this.problem = { kind, seq, rowId, message: kind === 'deleted' ? message : `row ${seq}: ${message}` };
    return false;
  }
}

const span = (from: number, to: number) => (from === to ? `row ${from} is` : `rows ${from}–${to} are`);
