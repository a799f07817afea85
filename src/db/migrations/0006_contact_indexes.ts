// Two indexes the 100k-contact benchmark asked for (docs/benchmarks-contacts.md).
// - Both engines: the live contacts by id. Counting a tag's live contacts probes each tagged id for deleted_at;
//   from this index the probe needs no table row (2.5× faster counts on SQLite).
// - PostgreSQL: the full-text index also holds the instance, so a search reads only its own instance's postings.
//   With separate indexes the planner ANDed the search bitmap with a bitmap of every row of the instance (70,000
//   entries, 14 of a 20 ms search). btree_gin lets a GIN index hold a plain column; it ships with PostgreSQL and is
//   a trusted extension (a database owner may create it).
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const contactIndexes: KithMigration = {
  async up(db: Kysely<unknown>, _types, engine) {
    await sql`create index contacts_live_id_idx on contacts (id, instance_id) where deleted_at is null`.execute(
      db,
    );
    if (engine !== 'postgres') return;
    await sql`create extension if not exists btree_gin`.execute(db);
    await sql`create index contacts_instance_search_idx on contacts using gin (instance_id, search)`.execute(
      db,
    );
    await sql`drop index contacts_search_idx`.execute(db);
  },
};
