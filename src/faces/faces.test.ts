// One contact model behind three APIs: what one writes, the other two read back, field for field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../test/harness.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type Body = Record<string, unknown>;

/** The three APIs over one tenant's `live` instance. */
async function apis() {
  const tenant = await kith.newTenant();
  const token = await tenant.token();
  const at = (base: string) => async (method: string, path: string, body?: unknown) => {
    const res = await kith.request<Body>(method, `${base}${path}`, { token, body });
    expect(res.status, `${method} ${base}${path}: ${res.text}`).toBeLessThan(300);
    return res.body;
  };
  const root = `/${tenant.name}/live`;
  /** The status alone, for answers that are refusals. */
  const status = async (path: string) => (await kith.request('GET', `${root}${path}`, { token })).status;
  const directory = at(`${root}/contacts`);
  const companies = at(`${root}/companies`);
  const companyFace = at(`${root}/contacts-api/contacts`);
  const bookFace = at(`${root}/api/v1/contacts`);
  return {
    status,
    directory,
    company: async (name: string) => (await companies('POST', '', { name })).id as string,
    companyFace,
    book: async (method: string, path: string, body?: unknown) =>
      (await bookFace(method, path, body))?.data as Body,
  };
}

describe('one contact, three APIs', () => {
  it('a contact created through the company-contacts face reads the same in the directory and the address book', async () => {
    const api = await apis();
    const acme = await api.company('Acme Labs');
    const created = await api.companyFace('POST', '', {
      company_id: acme,
      first_name: 'Ana',
      last_name: 'García',
      email: 'ana@acme.example',
      phone: '+34 612 345 678',
      designation: 'Head of Partnerships',
      is_primary: true,
    });
    const id = created.id as string;

    expect(await api.directory('GET', `/${id}`)).toMatchObject({
      id,
      companyId: acme,
      company: 'Acme Labs',
      firstName: 'Ana',
      lastName: 'García',
      displayName: 'Ana García',
      email: 'ana@acme.example',
      phone: '+34612345678',
      phones: [{ number: '+34 612 345 678', primary: true }],
      jobTitle: 'Head of Partnerships',
      isPrimary: true,
      createdAt: created.created_at,
      updatedAt: created.updated_at,
    });
    expect(await api.book('GET', `/${id}`)).toMatchObject({
      id,
      display_name: 'Ana García',
      first_name: 'Ana',
      last_name: 'García',
      emails: [{ address: 'ana@acme.example', primary: true }],
      phones: [{ number: '+34 612 345 678', primary: true }],
      company: 'Acme Labs',
      job_title: 'Head of Partnerships',
      created_at: created.created_at,
      updated_at: created.updated_at,
      deleted_at: null,
    });
  });

  it('a contact created through the address book reads the same in the directory and the company-contacts face', async () => {
    const api = await apis();
    const created = await api.book('POST', '', {
      first_name: 'Rahul',
      last_name: 'Mehta',
      emails: [{ address: 'rahul@example.in', label: 'work', primary: true }],
      phones: [{ number: '+91-9876543210', label: 'mobile', primary: true }],
      job_title: 'Sales Manager',
      tags: ['partner'],
      custom_fields: { tier: 'gold' },
      notes: 'Met at the fair',
    });
    const id = created.id as string;

    expect(await api.directory('GET', `/${id}`)).toMatchObject({
      id,
      firstName: 'Rahul',
      lastName: 'Mehta',
      email: 'rahul@example.in',
      jobTitle: 'Sales Manager',
      tags: ['partner'],
      customFields: { tier: 'gold' },
      notes: 'Met at the fair',
    });
    expect(await api.companyFace('GET', `/${id}`)).toEqual({
      id,
      company_id: null,
      first_name: 'Rahul',
      last_name: 'Mehta',
      email: 'rahul@example.in',
      phone: '+91-9876543210',
      designation: 'Sales Manager',
      is_primary: false,
      created_at: created.created_at,
      updated_at: created.updated_at,
    });
  });

  it('a change through the directory shows in both faces; a face’s update keeps what it cannot see', async () => {
    const api = await apis();
    const acme = await api.company('Acme');
    const { id } = (await api.directory('POST', '', {
      firstName: 'Li',
      lastName: 'Wei',
      companyId: acme,
      tags: ['vip'],
      notes: 'Prefers email',
    })) as { id: string };

    const patched = await api.directory('PATCH', `/${id}`, { jobTitle: 'CTO', lastName: 'Wang' });
    expect(await api.companyFace('GET', `/${id}`)).toMatchObject({
      last_name: 'Wang',
      designation: 'CTO',
      updated_at: patched.updatedAt,
    });
    expect(await api.book('GET', `/${id}`)).toMatchObject({
      display_name: 'Li Wang',
      job_title: 'CTO',
      updated_at: patched.updatedAt,
    });

    // The company-contacts face has no tags or notes: its PATCH leaves them as they were.
    await api.companyFace('PATCH', `/${id}`, { designation: 'CEO' });
    expect(await api.directory('GET', `/${id}`)).toMatchObject({
      jobTitle: 'CEO',
      tags: ['vip'],
      notes: 'Prefers email',
      version: 3,
    });
  });

  it('a deletion through one API is a deletion in the others', async () => {
    const api = await apis();
    const id = (await api.book('POST', '', { first_name: 'Gone' })).id as string;
    await api.book('DELETE', `/${id}`);
    expect(await api.status(`/contacts/${id}`)).toBe(404);
    expect(await api.status(`/contacts-api/contacts/${id}`)).toBe(404);
    const trash = await api.directory('GET', '?onlyDeleted=true');
    expect((trash.data as Body[]).map((c) => c.id)).toEqual([id]);

    await api.directory('POST', `/${id}/restore`);
    expect(await api.companyFace('GET', `/${id}`)).toMatchObject({ id, first_name: 'Gone' });
    // The company-contacts face's delete is permanent, as its seed documents: gone from the trash too.
    await api.companyFace('DELETE', `/${id}`);
    expect(await api.status(`/api/v1/contacts/${id}`)).toBe(404);
    expect((await api.directory('GET', '?includeDeleted=true')).data).toEqual([]);
  });
});

describe('the bare paths', () => {
  it('are reserved: no tenant can take the first segment of a face’s bare path', async () => {
    const bare = kith.app.kithRoutes
      .map((r) => r.url)
      .filter((url) => !url.startsWith('/:') && /\/contacts|\/api\/v1/.test(url));
    const prefixes = [...new Set(bare.map((url) => url.split('/')[1]!))];
    expect(prefixes.sort()).toEqual(['api', 'contacts']);
    for (const name of prefixes) {
      await expect(kith.services.tenants.createTenant(name), name).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
      });
    }
  });
});
