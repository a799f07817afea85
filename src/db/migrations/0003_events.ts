// Events: one row per committed change, written in the change's own transaction (the transactional outbox), with
// a gap-free sequence per instance that change feeds and streams resume from.
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const events: KithMigration = {
  async up(anyDb, t) {
    const db = anyDb as Kysely<Record<string, Record<string, unknown>>>;
    await db.schema
      .createTable('events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text', (c) => c.notNull())
      .addColumn('occurred_at', t.timestamp, (c) => c.notNull())
      .addColumn('actor_id', 'text', (c) => c.notNull())
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('data', t.json, (c) => c.notNull())
      .addUniqueConstraint('events_instance_seq_unique', ['instance_id', 'seq'])
      .execute();
    await db.schema.createIndex('events_occurred_idx').on('events').column('occurred_at').execute();

    // The last sequence number handed out per instance, and how far retention has deleted: a cursor below that
    // point can no longer be resumed without a gap.
    await db.schema
      .createTable('event_sequences')
      .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id'))
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .addColumn('purged_through', 'bigint', (c) => c.notNull().defaultTo(sql`0`))
      .execute();
  },
};
