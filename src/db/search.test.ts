// SQLite's full-text index holds each term behind its instance's code (db/search.ts). A database indexed before
// that (migration 0006) is reindexed from the stored documents; searches then find each instance's contacts only.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contact } from '../../test/factories.ts';
import { startKith, type Kith } from '../../test/harness.ts';
import { migrate } from './migrate.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

describe.runIf(!process.env.KITH_DATABASE_URL)('the SQLite search index', () => {
  it('is rebuilt per instance from the stored contacts by migration 0006', async () => {
    const t = await kith.newTenant();
    const token = await t.token();
    const create = (instance: string, body: unknown) =>
      kith.request<{ id: string }>('POST', `/${t.name}/${instance}/contacts`, { token, body });
    const ids = (instance: string, query: string) =>
      kith
        .request<{ data: Array<{ id: string }> }>('GET', `/${t.name}/${instance}/contacts?search=${query}`, {
          token,
        })
        .then((r) => r.body.data.map((c) => c.id));
    const live = (await create('live', contact({ firstName: 'Philippa', lastName: 'Quarrington' }))).body;
    const sandbox = (await create('sandbox', contact({ firstName: 'Philippa', lastName: 'Quarrington' })))
      .body;

    // The state before 0006: one unpartitioned index of bare terms, and 0006 not yet applied.
    const { db } = kith.database;
    await sql`drop table contacts_fts`.execute(db);
    await sql`create virtual table contacts_fts using fts5(terms, content='', contentless_delete=1,
      tokenize="unicode61 remove_diacritics 0 tokenchars '_'", prefix='2 3')`.execute(db);
    await sql`insert into contacts_fts (rowid, terms) select seq, 'philippa quarrington' from contacts`.execute(
      db,
    );
    await sql`drop index contacts_live_id_idx`.execute(db);
    // Migrations run in order only, so the later ones are undone too.
    await sql`alter table security_policies drop column companies`.execute(db);
    await sql`alter table instances drop column public_intake`.execute(db);
    await sql`delete from kysely_migration where name >= '0006_contact_indexes'`.execute(db);
    expect(await ids('live', 'quarr')).toEqual([]);

    expect(await migrate(kith.database)).toEqual(['0006_contact_indexes', '0007_faces']);
    expect(await ids('live', 'quarr')).toEqual([live.id]);
    expect(await ids('sandbox', 'phil%20quar')).toEqual([sandbox.id]);
    expect(await ids('live', 'quarington')).toEqual([live.id]);
  });
});
