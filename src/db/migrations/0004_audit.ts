// The audit log: append-only, one hash chain per tenant (plus a `system` chain for requests tied to no tenant).
// Each row stores the previous row's hash and its own; `audit_chains` holds each chain's head, and its row lock
// orders concurrent appenders on every node. Triggers refuse UPDATE and DELETE, so only someone who can drop them
// can change history, and the chain shows what they changed.
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const audit: KithMigration = {
  async up(anyDb, t, engine) {
    const db = anyDb as Kysely<Record<string, Record<string, unknown>>>;
    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      // No foreign keys: the record must outlive what it talks about.
      .addColumn('chain', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('at', t.timestamp, (c) => c.notNull())
      .addColumn('instance_id', 'text')
      .addColumn('instance', 'text')
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_name', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('resource_type', 'text')
      .addColumn('resource_id', 'text')
      .addColumn('method', 'text')
      .addColumn('route', 'text')
      .addColumn('status', 'integer')
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('request_id', 'text')
      // Canonical JSON text on both engines: the hashed bytes are the stored bytes (jsonb would reorder keys).
      .addColumn('query', 'text')
      .addColumn('result_count', 'integer')
      .addColumn('result_total', 'integer')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addUniqueConstraint('audit_log_chain_seq_unique', ['chain', 'seq'])
      .execute();
    await db.schema.createIndex('audit_log_chain_at_idx').on('audit_log').columns(['chain', 'at']).execute();

    await db.schema
      .createTable('audit_chains')
      .addColumn('chain', 'text', (c) => c.primaryKey())
      .addColumn('last_seq', 'bigint', (c) => c.notNull())
      .addColumn('last_hash', 'text', (c) => c.notNull())
      .execute();

    if (engine === 'postgres') {
      await sql`
        create function audit_log_append_only() returns trigger language plpgsql as $$
        begin
          raise exception 'audit_log is append-only';
        end $$`.execute(db);
      await sql`
        create trigger audit_log_append_only before update or delete on audit_log
        for each row execute function audit_log_append_only()`.execute(db);
      await sql`
        create trigger audit_log_no_truncate before truncate on audit_log
        for each statement execute function audit_log_append_only()`.execute(db);
    } else {
      for (const operation of ['update', 'delete'] as const) {
        await sql`
          create trigger ${sql.raw(`audit_log_no_${operation}`)} before ${sql.raw(operation)} on audit_log
          begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
      }
    }
  },
};
