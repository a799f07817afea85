// What the compatibility faces (src/faces) need from the schema:
// - a security policy may limit its clients to chosen companies (the company-contacts face answers 403 outside
//   them): a JSON array of company ids, null for no limit;
// - an instance's administrator may open public contact intake (the routes seed 003 marks public); off by default.
import { sql, type Kysely } from 'kysely';
import type { KithMigration } from './types.ts';

export const faces: KithMigration = {
  async up(anyDb, t) {
    const db = anyDb as Kysely<Record<string, Record<string, unknown>>>;
    await db.schema.alterTable('security_policies').addColumn('companies', t.json).execute();
    await db.schema
      .alterTable('instances')
      .addColumn('public_intake', t.boolean, (c) =>
        c.notNull().defaultTo(t.boolean === 'boolean' ? sql`false` : sql`0`),
      )
      .execute();
  },
};
