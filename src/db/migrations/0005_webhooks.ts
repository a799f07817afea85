// Webhooks: endpoints (per instance), the deliveries fanned out to them from the events outbox, and the log of
// every attempt. Deliveries are claimed by one node at a time through a lease (locked_until), so any number of
// nodes share the work and a node that dies mid-attempt only delays its claims until the lease runs out.
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const webhooks: KithMigration = {
  async up(anyDb, t) {
    const db = anyDb as Kysely<Record<string, Record<string, unknown>>>;
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('event_types', t.json, (c) => c.notNull())
      // The signing key itself, not a hash: signing needs it. It is never returned after create/rotate.
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('previous_secret', 'text')
      .addColumn('previous_secret_expires_at', t.timestamp)
      .addColumn('enabled', t.boolean, (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('disabled_at', t.timestamp)
      // Start of the current run of failed attempts; cleared by any success.
      .addColumn('failing_since', t.timestamp)
      // The instance's last event sequence number already fanned out to this endpoint.
      .addColumn('cursor_seq', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('webhook_endpoints_instance_idx')
      .on('webhook_endpoints')
      .columns(['instance_id', 'created_at', 'id'])
      .execute();

    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('resource_id', 'text', (c) => c.notNull())
      // 'outbox' (fanned out from the events table) or 'replay' (asked for through the API).
      .addColumn('origin', 'text', (c) => c.notNull())
      // PENDING, DELIVERED, FAILED (attempts exhausted or event expired), CANCELLED (endpoint disabled).
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', t.timestamp, (c) => c.notNull())
      .addColumn('locked_until', t.timestamp)
      .addColumn('locked_by', 'text')
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .execute();
    // The fan-out writes each event to an endpoint once, whichever node does it and however often it retries.
    await db.schema
      .createIndex('webhook_deliveries_outbox_unique')
      .on('webhook_deliveries')
      .columns(['endpoint_id', 'event_id'])
      .unique()
      .where(sql.ref('origin'), '=', 'outbox')
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due_idx')
      .on('webhook_deliveries')
      .columns(['next_attempt_at', 'seq'])
      .where(sql.ref('status'), '=', 'PENDING')
      .execute();
    // The per-resource ordering check: is an earlier delivery of this resource to this endpoint still pending?
    await db.schema
      .createIndex('webhook_deliveries_chain_idx')
      .on('webhook_deliveries')
      .columns(['endpoint_id', 'resource_id', 'seq'])
      .where(sql.ref('status'), '=', 'PENDING')
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_finished_idx')
      .on('webhook_deliveries')
      .columns(['updated_at'])
      .where(sql.ref('status'), '<>', 'PENDING')
      .execute();

    // The delivery log: one row per attempt. No foreign keys, so it outlives a deleted endpoint and expired events.
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('delivery_id', 'text')
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('attempted_at', t.timestamp, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('response', 'text')
      .execute();
    await db.schema
      .createIndex('webhook_attempts_tenant_idx')
      .on('webhook_attempts')
      .columns(['tenant_id', 'attempted_at', 'id'])
      .execute();
    await db.schema
      .createIndex('webhook_attempts_time_idx')
      .on('webhook_attempts')
      .column('attempted_at')
      .execute();
  },
};
