// Patients, companies, contacts (with their tags and search index), idempotency keys, and each instance's default
// phone region. Every row carries its instance. Unique external identifiers are unique among the instance's live
// (not deleted) rows.
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const directory: KithMigration = {
  async up(anyDb, t, engine) {
    const db = anyDb as Kysely<Record<string, Record<string, unknown>>>;
    // Numbers written without a country code are read as numbers of this region (ISO 3166 alpha-2).
    await db.schema
      .alterTable('instances')
      .addColumn('phone_region', 'text', (c) => c.notNull().defaultTo('US'))
      .execute();
    // Sort keys compare byte-wise on both engines, so pages come out in the same order everywhere.
    const sortKey = engine === 'postgres' ? sql`text collate "C"` : sql`text`;

    const uniqueLive = async (table: string, column: string) => {
      await db.schema
        .createIndex(`${table}_${column}_unique`)
        .on(table)
        .columns(['instance_id', column])
        .unique()
        .where(sql.ref(column), 'is not', null)
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    };

    await db.schema
      .createTable('patients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
      .addColumn('first_name', 'text', (c) => c.notNull())
      .addColumn('last_name', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text')
      .addColumn('external_guid', 'text')
      .addColumn('mrn', 'text')
      .addColumn('doc', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('deleted_at', t.timestamp)
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('patients_instance_created_idx')
      .on('patients')
      .columns(['instance_id', 'created_at', 'id'])
      .where(sql.ref('deleted_at'), 'is', null)
      .execute();
    for (const column of ['external_id', 'external_guid', 'mrn']) await uniqueLive('patients', column);

    await db.schema
      .createTable('companies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('sort_name', sortKey, (c) => c.notNull())
      .addColumn('external_id', 'text')
      .addColumn('doc', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('deleted_at', t.timestamp)
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('companies_instance_name_idx')
      .on('companies')
      .columns(['instance_id', 'sort_name', 'id'])
      .execute();
    await uniqueLive('companies', 'external_id');

    // SQLite's full-text index addresses rows by integer rowid, so contacts get a stable one there (`seq`,
    // an alias of the rowid that VACUUM keeps). PostgreSQL keeps its search vector in the row instead.
    let contacts = db.schema.createTable('contacts');
    contacts =
      engine === 'sqlite'
        ? contacts
            .addColumn('seq', 'integer', (c) => c.primaryKey())
            .addColumn('id', 'text', (c) => c.notNull().unique())
        : contacts.addColumn('id', 'text', (c) => c.primaryKey());
    await contacts
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id'))
      .addColumn('patient_id', 'text', (c) => c.references('patients.id'))
      .addColumn('company_id', 'text', (c) => c.references('companies.id'))
      .addColumn('relationship', 'text')
      .addColumn('is_primary', t.boolean, (c) => c.notNull())
      .addColumn('source', 'text')
      .addColumn('external_id', 'text')
      .addColumn('sort_name', sortKey, (c) => c.notNull())
      .addColumn('sort_last', sortKey, (c) => c.notNull())
      .addColumn('sort_company', sortKey, (c) => c.notNull())
      .addColumn('doc', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('deleted_at', t.timestamp)
      .addColumn('version', 'integer', (c) => c.notNull())
      .$call((b) => (engine === 'postgres' ? b.addColumn('search', sql`tsvector`, (c) => c.notNull()) : b))
      .execute();

    // One index per sort order over the live rows, each ending in id for stable keyset (cursor) paging.
    const sorts: Array<[string, string]> = [
      ['name', 'sort_name'],
      ['last', 'sort_last'],
      ['company', 'sort_company'],
      ['created', 'created_at'],
      ['updated', 'updated_at'],
    ];
    for (const [suffix, column] of sorts) {
      await db.schema
        .createIndex(`contacts_live_${suffix}_idx`)
        .on('contacts')
        .columns(['instance_id', column, 'id'])
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    }
    await db.schema
      .createIndex('contacts_trash_idx')
      .on('contacts')
      .columns(['instance_id', 'deleted_at', 'id'])
      .where(sql.ref('deleted_at'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('contacts_patient_idx')
      .on('contacts')
      .columns(['patient_id', 'sort_name', 'id'])
      .where(sql.ref('patient_id'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('contacts_company_idx')
      .on('contacts')
      .columns(['company_id', 'sort_name', 'id'])
      .where(sql.ref('company_id'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('contacts_updated_idx')
      .on('contacts')
      .columns(['instance_id', 'updated_at'])
      .execute();
    await uniqueLive('contacts', 'external_id');
    // At most one primary contact per patient and per company, whatever races the service loses.
    for (const owner of ['patient_id', 'company_id']) {
      await db.schema
        .createIndex(`contacts_primary_${owner}_unique`)
        .on('contacts')
        .column(owner)
        .unique()
        .where(sql<boolean>`is_primary = ${sql.lit(engine === 'postgres' ? true : 1)}`)
        .where(sql.ref(owner), 'is not', null)
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    }

    await db.schema
      .createTable('contact_tags')
      .addColumn('contact_id', 'text', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('tag', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('contact_tags_pk', ['contact_id', 'tag'])
      .execute();
    await db.schema
      .createIndex('contact_tags_lookup_idx')
      .on('contact_tags')
      .columns(['instance_id', 'tag', 'contact_id'])
      .execute();

    if (engine === 'postgres') {
      await sql`create index contacts_search_idx on contacts using gin (search)`.execute(db);
    } else {
      // Contentless: the terms live only in the index; rows are addressed by contacts.seq.
      await sql`create virtual table contacts_fts using fts5(
        terms, content='', contentless_delete=1,
        tokenize="unicode61 remove_diacritics 0 tokenchars '_'", prefix='2 3')`.execute(db);
    }

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status', 'integer')
      .addColumn('response', 'text')
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('expires_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['client_id', 'key'])
      .execute();
    await db.schema
      .createIndex('idempotency_keys_expiry_idx')
      .on('idempotency_keys')
      .column('expires_at')
      .execute();
  },
};
