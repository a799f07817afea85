// Full-text search, the one place the engines differ for it. Both store the terms contacts.search.ts makes and
// match a parsed query inside the writing transaction's snapshot, so a search sees a write at once.
// - SQLite: an FTS5 table (contentless) addressed by contacts.seq.
// - PostgreSQL: a tsvector column on contacts, built from the terms as given (no parser, no stemming), GIN-indexed.
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db, Engine } from './database.ts';
import type { SearchQuery } from '../modules/contacts/contacts.search.ts';

// Terms are letters, digits and _ only (see contacts.search.ts); anything else is stripped before quoting.
const safe = (term: string) => term.replace(/[^\p{L}\p{N}_]/gu, '');

/** The value to store in contacts.search on PostgreSQL (undefined on SQLite, where the FTS table holds them). */
export function searchColumn(engine: Engine, terms: string[]) {
  return engine === 'postgres' ? sql`array_to_tsvector(${terms.map(safe)}::text[])` : undefined;
}

/** On SQLite, replaces the contact's row in the FTS table; on PostgreSQL the column was written with the row. */
export async function indexContact(db: Db, engine: Engine, seq: number, terms: string[]): Promise<void> {
  if (engine !== 'sqlite') return;
  await sql`delete from contacts_fts where rowid = ${seq}`.execute(db);
  await sql`insert into contacts_fts (rowid, terms) values (${seq}, ${terms.map(safe).join(' ')})`.execute(
    db,
  );
}

export async function unindexContact(db: Db, engine: Engine, seq: number): Promise<void> {
  if (engine === 'sqlite') await sql`delete from contacts_fts where rowid = ${seq}`.execute(db);
}

/**
 * A condition on `contacts` true for the rows matching every clause of the query. The caller filters on the
 * instance: ANDing the instance's own term in the index was measured slower than letting the row filter do it.
 */
export function matches(engine: Engine, query: SearchQuery): Expression<SqlBool> {
  if (engine === 'postgres') {
    const clause = (terms: SearchQuery[number]) =>
      `(${terms.map((t) => `'${safe(t.text)}'${t.prefix ? ':*' : ''}`).join(' | ')})`;
    const text = query.map(clause).join(' & ');
    return sql<SqlBool>`contacts.search @@ ${text}::tsquery`;
  }
  const clause = (terms: SearchQuery[number]) =>
    `(${terms.map((t) => `"${safe(t.text)}"${t.prefix ? '*' : ''}`).join(' OR ')})`;
  const text = query.map(clause).join(' AND ');
  return sql<SqlBool>`contacts.seq in (select rowid from contacts_fts where contacts_fts match ${text})`;
}
