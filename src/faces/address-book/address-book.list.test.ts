// GET /contacts of seed 004: every list parameter, its default, and the list envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import type { CompactContact, ErrorBody } from './address-book.schemas.ts';
import { addressBook, fieldsOf } from './address-book.testing.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

/** Three contacts created in this order, so created_at and display_name orders differ. */
async function threeContacts() {
  const book = await addressBook(kith);
  const carla = await book.add({
    first_name: 'Carla',
    last_name: 'Zed',
    company: 'Zeta Corp',
    tags: ['vip', 'partner'],
    source: 'import',
    emails: [{ address: 'carla@zeta.example', label: 'work' }],
  });
  const ana = await book.add({
    first_name: 'Ana',
    last_name: 'García',
    company: 'Acme Labs',
    tags: ['vip'],
    phones: [{ number: '+34 612 345 678', label: 'mobile' }],
    notes: 'loves sailing',
  });
  const bruno = await book.add({ first_name: 'Bruno', last_name: 'Ortiz', tags: ['partner'], source: 'web' });
  return { book, ana, bruno, carla };
}

describe('GET /contacts', () => {
  it('answers {data, meta: {total, limit, offset}} with limit 20 and offset 0 by default, sorted by display_name', async () => {
    const { book } = await threeContacts();
    const res = await book.list();
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(['data', 'meta']);
    expect(res.body.meta).toEqual({ total: 3, limit: 20, offset: 0 });
    expect(res.body.data.map((c) => c.display_name)).toEqual(['Ana García', 'Bruno Ortiz', 'Carla Zed']);
    expect(res.body.data[0]).toHaveProperty('custom_fields');
  });

  it('pages with limit and offset; total counts every match', async () => {
    const book = await addressBook(kith);
    for (let i = 0; i < 25; i++) await book.add({ first_name: `P${String(i).padStart(2, '0')}` });
    const first = await book.list();
    expect(first.body.data).toHaveLength(20);
    expect(first.body.meta).toEqual({ total: 25, limit: 20, offset: 0 });
    const page = await book.list('?limit=10&offset=20');
    expect(page.body.meta).toEqual({ total: 25, limit: 10, offset: 20 });
    expect(page.body.data.map((c) => c.display_name)).toEqual(['P20', 'P21', 'P22', 'P23', 'P24']);
  });

  it('refuses a limit over 100, a negative offset and an unknown sort, naming the parameter', async () => {
    const book = await addressBook(kith);
    for (const [query, field] of [
      ['?limit=101', 'limit'],
      ['?limit=0', 'limit'],
      ['?offset=-1', 'offset'],
      ['?sort=last_name', 'sort'],
      ['?order=up', 'order'],
      ['?format=tiny', 'format'],
    ] as const) {
      const res = await book.list(query);
      expect(res.status, query).toBe(400);
      expect((res.body as unknown as ErrorBody).error.code).toBe('VALIDATION_ERROR');
      expect(fieldsOf(res.body), query).toEqual([field]);
    }
  });

  it('sorts by display_name, created_at, updated_at and company, asc by default or desc', async () => {
    const { book, ana, bruno, carla } = await threeContacts();
    const ids = async (query: string) => (await book.list(query)).body.data.map((c) => c.id);
    expect(await ids('?sort=display_name&order=desc')).toEqual([carla.id, bruno.id, ana.id]);
    expect(await ids('?sort=created_at')).toEqual([carla.id, ana.id, bruno.id]);
    expect(await ids('?sort=created_at&order=desc')).toEqual([bruno.id, ana.id, carla.id]);
    await book.patch(carla.id, { notes: 'touched' });
    expect((await ids('?sort=updated_at&order=desc'))[0]).toBe(carla.id);
    expect(await ids('?sort=updated_at')).toEqual([ana.id, bruno.id, carla.id]);
    // Contacts without a company sort last.
    expect(await ids('?sort=company')).toEqual([ana.id, carla.id, bruno.id]);
  });

  it('searches names, emails, phones, company and notes', async () => {
    const { book } = await threeContacts();
    expect(await book.names('?search=garc')).toEqual(['Ana García']);
    expect(await book.names('?search=carla%40zeta.example')).toEqual(['Carla Zed']);
    expect(await book.names('?search=612345678')).toEqual(['Ana García']);
    expect(await book.names('?search=zeta')).toEqual(['Carla Zed']);
    expect(await book.names('?search=sailing')).toEqual(['Ana García']);
    expect(await book.names('?search=nobody')).toEqual([]);
  });

  it('filters by tag (repeatable, all must match), company (partial, any case) and source', async () => {
    const { book } = await threeContacts();
    expect(await book.names('?tag=vip')).toEqual(['Ana García', 'Carla Zed']);
    expect(await book.names('?tag=vip&tag=partner')).toEqual(['Carla Zed']);
    expect(await book.names('?company=ACME')).toEqual(['Ana García']);
    expect(await book.names('?company=corp')).toEqual(['Carla Zed']);
    expect(await book.names('?source=web')).toEqual(['Bruno Ortiz']);
    const res = await book.list('?tag=vip&source=import');
    expect(res.body.meta.total).toBe(1);
  });

  it('refuses include_deleted together with only_deleted, naming only_deleted', async () => {
    const book = await addressBook(kith);
    const res = await book.list('?include_deleted=true&only_deleted=true');
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['only_deleted']);
    expect((res.body as unknown as ErrorBody).error.message).toContain('only_deleted');
    expect((res.body as unknown as ErrorBody).error.message).not.toContain('onlyDeleted');
  });

  it('returns the compact form with format=compact', async () => {
    const { book, ana } = await threeContacts();
    const res = await book.list<CompactContact>('?format=compact&search=ana');
    expect(res.body.data).toEqual([
      {
        id: ana.id,
        display_name: 'Ana García',
        email: null,
        phone: '+34612345678',
        company: 'Acme Labs',
        tags: ['vip'],
      },
    ]);
    expect(res.body.meta).toEqual({ total: 1, limit: 20, offset: 0 });
  });
});
