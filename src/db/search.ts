// Full-text search, the one place the engines differ for it. Both store the terms contacts.search.ts makes and
// match a parsed query inside the writing transaction's snapshot, so a search sees a write at once.
// - SQLite: an FTS5 table (contentless) addressed by contacts.seq. One table serves every instance, so each stored
//   term starts with a code of its instance (`instanceCode`): a query reads only its own instance's postings.
//   Without it a word matched in every instance was looked up row by row and dropped (a prefix common at a
//   million contacts matched 13,672 rows to keep 6,417; a small instance paid the same for its handful).
// - PostgreSQL: a tsvector column on contacts, built from the terms as given (no parser, no stemming), in a GIN
//   index over (instance_id, search), which partitions by instance itself.
import { createHash } from 'node:crypto';
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db, Engine } from './database.ts';
import type { SearchQuery } from '../modules/contacts/contacts.search.ts';

// Terms are letters, digits and _ only (see contacts.search.ts); anything else is stripped before quoting.
const safe = (term: string) => term.replace(/[^\p{L}\p{N}_]/gu, '');

/** Six letters and digits naming the instance inside SQLite's full-text index (a collision costs only speed). */
export function instanceCode(instanceId: string): string {
  return createHash('sha256').update(instanceId).digest('hex').slice(0, 6);
}

/** The text SQLite's full-text index stores for a contact of `instanceId`. */
export function ftsText(instanceId: string, terms: string[]): string {
  const code = instanceCode(instanceId);
  return terms.map((t) => code + safe(t)).join(' ');
}

/** The value to store in contacts.search on PostgreSQL (undefined on SQLite, where the FTS table holds them). */
export function searchColumn(engine: Engine, terms: string[]) {
  return engine === 'postgres' ? sql`array_to_tsvector(${terms.map(safe)}::text[])` : undefined;
}

/** On SQLite, replaces the contact's row in the FTS table; on PostgreSQL the column was written with the row. */
export async function indexContact(
  db: Db,
  engine: Engine,
  row: { seq: number; instanceId: string },
  terms: string[],
): Promise<void> {
  if (engine !== 'sqlite') return;
  await sql`delete from contacts_fts where rowid = ${row.seq}`.execute(db);
  await sql`insert into contacts_fts (rowid, terms) values (${row.seq}, ${ftsText(row.instanceId, terms)})`.execute(
    db,
  );
}

export async function unindexContact(db: Db, engine: Engine, seq: number): Promise<void> {
  if (engine === 'sqlite') await sql`delete from contacts_fts where rowid = ${seq}`.execute(db);
}

/** A condition on `contacts` true for the rows of `instanceId` matching every clause of the query. */
export function matches(engine: Engine, instanceId: string, query: SearchQuery): Expression<SqlBool> {
  if (engine === 'postgres') {
    const clause = (terms: SearchQuery[number]) =>
      `(${terms.map((t) => `'${safe(t.text)}'${t.prefix ? ':*' : ''}`).join(' | ')})`;
    const text = query.map(clause).join(' & ');
    return sql<SqlBool>`contacts.search @@ ${text}::tsquery`;
  }
  const code = instanceCode(instanceId);
  const clause = (terms: SearchQuery[number]) =>
    `(${terms.map((t) => `"${code}${safe(t.text)}"${t.prefix ? '*' : ''}`).join(' OR ')})`;
  const text = query.map(clause).join(' AND ');
  return sql<SqlBool>`contacts.seq in (select rowid from contacts_fts where contacts_fts match ${text})`;
}
