// Claiming rows when several workers (or several Kith nodes) look at the same queue. PostgreSQL locks the rows a
// claimer picks and lets the others skip them (FOR UPDATE SKIP LOCKED) instead of waiting or picking them too.
// SQLite has a single writer: a claim that is one statement (or one transaction) already runs alone, so the
// query is left as it is.
import type { SelectQueryBuilder } from 'kysely';
import type { Engine } from './database.ts';

/** `query … FOR UPDATE SKIP LOCKED` on PostgreSQL; the query unchanged on SQLite. */
export function skipLocked<DB, TB extends keyof DB, O>(
  engine: Engine,
  query: SelectQueryBuilder<DB, TB, O>,
): SelectQueryBuilder<DB, TB, O> {
  return engine === 'postgres' ? query.forUpdate().skipLocked() : query;
}
