// Indexes the contact benchmarks asked for (docs/benchmarks-contacts.md).
// - Both engines: the live contacts by id. Counting a tag's live contacts probes each tagged id for deleted_at;
//   from this index the probe needs no table row (2.5× faster counts on SQLite).
// - PostgreSQL: the full-text index also holds the instance, so a search reads only its own instance's postings.
//   With separate indexes the planner ANDed the search bitmap with a bitmap of every row of the instance (70,000
//   entries, 14 of a 20 ms search). btree_gin lets a GIN index hold a plain column; it ships with PostgreSQL and is
//   a trusted extension (a database owner may create it).
// - SQLite: the full-text table's terms start with their instance's code (db/search.ts), which is the same
//   partition for FTS5. Its prefix indexes move past the code, and every contact is indexed again from its stored
//   document with today's term function (this is the one migration that calls module code: a search index is
//   derived data, rebuilt the way the application builds it).
import { sql, type Kysely } from 'kysely';
import { searchTerms, type SearchDocument } from '../../modules/contacts/contacts.search.ts';
import { ftsText, instanceCode } from '../search.ts';
import { fromJson } from '../values.ts';
import type { KithMigration } from './types.ts';

const REINDEX_BATCH = 5_000;

export const contactIndexes: KithMigration = {
  async up(db: Kysely<unknown>, _types, engine) {
    await sql`create index contacts_live_id_idx on contacts (id, instance_id) where deleted_at is null`.execute(
      db,
    );
    if (engine === 'sqlite') return partitionSqliteSearch(db);
    await sql`create extension if not exists btree_gin`.execute(db);
    await sql`create index contacts_instance_search_idx on contacts using gin (instance_id, search)`.execute(
      db,
    );
    await sql`drop index contacts_search_idx`.execute(db);
  },
};

async function partitionSqliteSearch(db: Kysely<unknown>): Promise<void> {
  const codeLength = instanceCode('').length;
  await sql`drop table contacts_fts`.execute(db);
  await sql`create virtual table contacts_fts using fts5(
    terms, content='', contentless_delete=1,
    tokenize="unicode61 remove_diacritics 0 tokenchars '_'",
    prefix=${sql.lit(`${codeLength + 2} ${codeLength + 3}`)})`.execute(db);
  for (let after = 0; ;) {
    const { rows } = await sql<{ seq: number; instance_id: string; doc: string }>`
      select seq, instance_id, doc from contacts where seq > ${after} order by seq limit ${REINDEX_BATCH}`.execute(
      db,
    );
    if (rows.length === 0) return;
    for (const row of rows) {
      const text = ftsText(row.instance_id, searchTerms(fromJson<SearchDocument>(row.doc)));
      await sql`insert into contacts_fts (rowid, terms) values (${row.seq}, ${text})`.execute(db);
    }
    after = rows.at(-1)!.seq;
  }
}
