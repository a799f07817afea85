import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName, startKith, type Kith, type RequestOptions } from '../../../test/harness.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Company } from './companies.schemas.ts';
import { sortKey } from './companies.service.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type ErrorBody = Array<{ errorCode: string; details: Record<string, unknown>; date: string }>;
type Page = { data: Company[]; metaInfo: Record<string, unknown> };

/** A company body with a random name; overrides win. */
const company = (overrides: Record<string, unknown> = {}) => ({ name: randomName('Acme'), ...overrides });

/** A fresh tenant and a client calling /:tenant/:instance/companies on it. */
async function workspace(instance = 'live') {
  const tenant = await kith.newTenant();
  const token = await tenant.token();
  const base = `/${tenant.name}/${instance}/companies`;
  const call = <T = Company>(method: string, path = '', options: RequestOptions = {}) =>
    kith.request<T>(method, `${base}${path}`, { token, ...options });
  const create = async (overrides: Record<string, unknown> = {}) => {
    const res = await call('POST', '', { body: company(overrides) });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const list = (query = '') => call<Page>('GET', query);
  return { tenant, token, base, call, create, list };
}

const errorOf = (body: unknown) => (body as ErrorBody)[0]!;
const withoutDate = (body: unknown) => (body as ErrorBody).map(({ date: _date, ...rest }) => rest);
/** The distinct field paths an error names, sorted. */
const fieldsOf = (body: unknown) => {
  const fields = errorOf(body).details.fields as Array<{ field: string }>;
  return [...new Set(fields.map((f) => f.field))].sort();
};
const anyString = expect.any(String) as string;

describe('companies: create and read', () => {
  it('creates a company with every field normalized, and reads it back with its ETag', async () => {
    const { base, call } = await workspace();
    const res = await call('POST', '', {
      body: {
        name: '  Acme Corp ',
        domain: 'ACME.Example.COM.',
        phone: '+1 555 0100',
        address: { street: '1 Main St', city: 'Springfield', state: null, country: 'US' },
        tags: [' vip ', 'partner'],
        customFields: { tier: 2, regions: ['eu', 'us'], meta: { since: 2019 }, note: null },
        externalId: 'crm-1',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      name: 'Acme Corp',
      domain: 'acme.example.com',
      phone: '+1 555 0100',
      address: { street: '1 Main St', city: 'Springfield', country: 'US' },
      tags: ['vip', 'partner'],
      customFields: { tier: 2, regions: ['eu', 'us'], meta: { since: 2019 }, note: null },
      externalId: 'crm-1',
      createdAt: anyString,
      updatedAt: res.body.createdAt,
      createdBy: anyString,
      updatedBy: res.body.createdBy,
      deletedAt: null,
      version: 1,
    });
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('location')).toBe(`${base}/${res.body.id}`);
    const read = await call('GET', `/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
    expect(read.headers.get('etag')).toBe('"1"');
  });

  it('fills absent optional fields with null, [] and {}', async () => {
    const { create } = await workspace();
    const created = await create({ name: 'Bare', domain: null });
    expect(created).toMatchObject({ domain: null, phone: null, address: null, tags: [], customFields: {} });
    expect(created.externalId).toBeNull();
  });

  it('answers a path id that is not a UUID with a 400 naming id', async () => {
    const { call } = await workspace();
    const res = await call('GET', '/not-a-uuid');
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['id']);
  });
});

describe('companies: validation', () => {
  const long = (n: number) => 'x'.repeat(n);
  const manyKeys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['a missing name', { name: undefined }, ['name']],
    ['a blank name', { name: '   ' }, ['name']],
    ['a name over 200', { name: long(201) }, ['name']],
    ['a domain that is not a hostname', { domain: 'https://acme.com' }, ['domain']],
    ['a phone over 50', { phone: long(51) }, ['phone']],
    ['an address part over its cap', { address: { postalCode: long(21) } }, ['address.postalCode']],
    ['an unknown address part', { address: { zip: '1' } }, ['address.zip']],
    ['a duplicate tag (after trimming)', { tags: ['a', 'b', ' a'] }, ['tags[2]']],
    ['a blank tag', { tags: ['ok', '  '] }, ['tags[1]']],
    ['a tag over 64', { tags: [long(65)] }, ['tags[0]']],
    ['more than 50 tags', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, ['tags']],
    ['customFields that are not an object', { customFields: [1] }, ['customFields']],
    ['more than 100 custom fields', { customFields: manyKeys(101) }, ['customFields']],
    ['a custom field key over 64', { customFields: { [long(65)]: 1 } }, ['customFields']],
    ['custom fields over 16 KiB', { customFields: { big: long(16 * 1024) } }, ['customFields']],
    ['an externalId over 200', { externalId: long(201) }, ['externalId']],
    ['an unknown field', { website: 'x' }, ['website']],
    [
      'several problems at once',
      { name: ' ', tags: ['a', 'a'], customFields: { b: long(17000) } },
      ['customFields', 'name', 'tags[1]'],
    ],
  ];

  it.each(cases)('refuses %s with a 400 naming each field, writing nothing', async (_, overrides, fields) => {
    const { call, list } = await workspace();
    const res = await call('POST', '', { body: company(overrides) });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).errorCode).toBe('VALIDATION_ERROR');
    expect(fieldsOf(res.body)).toEqual(fields);
    expect((await list()).body.metaInfo.totalElements).toBe(0);
  });

  it('accepts every field at its cap', async () => {
    const { create } = await workspace();
    const tags = Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(64, 't'));
    const created = await create({ name: long(200), phone: long(50), externalId: long(200), tags });
    expect(created.tags).toEqual(tags);
    const customFields = manyKeys(100);
    expect((await create({ customFields })).customFields).toEqual(customFields);
    const atCap = { big: long(16 * 1024 - '{"big":""}'.length) };
    expect(JSON.stringify(atCap).length).toBe(16 * 1024);
    expect((await create({ customFields: atCap })).customFields).toEqual(atCap);
  });

  it('refuses read-only and unknown fields in a PATCH, naming each, and changes nothing', async () => {
    const { call, create } = await workspace();
    const { id } = await create();
    const body = { id: randomUUID(), version: 9, createdAt: 'x', deletedAt: null, updatedBy: 'me', color: 1 };
    const res = await call('PATCH', `/${id}`, { body });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toEqual(['color', 'createdAt', 'deletedAt', 'id', 'updatedBy', 'version']);
    const bad = await call('PATCH', `/${id}`, { body: { name: null, tags: ['x', 'x'] } });
    expect(bad.status).toBe(400);
    expect((await call('GET', `/${id}`)).body.version).toBe(1);
  });
});

describe('companies: partial update', () => {
  it('changes only the fields given, null clears, and the version counts changes', async () => {
    const { call, create, tenant } = await workspace();
    const full = { domain: 'a.com', phone: '1', address: { city: 'X' }, tags: ['t'], customFields: { a: 1 } };
    const created = await create({ ...full, externalId: 'e-1' });
    const patched = await call('PATCH', `/${created.id}`, { body: { phone: '2', tags: ['u', 'v'] } });
    expect(patched.status).toBe(200);
    const changed = { phone: '2', tags: ['u', 'v'], version: 2 };
    expect(patched.body).toEqual({ ...created, ...changed, updatedAt: anyString });
    expect(patched.headers.get('etag')).toBe('"2"');

    const other = await tenant.addClient({});
    const optional = ['domain', 'phone', 'address', 'tags', 'customFields', 'externalId'];
    const nulls = Object.fromEntries(optional.map((field) => [field, null]));
    const cleared = await kith.request<Company>('PATCH', `/${tenant.name}/live/companies/${created.id}`, {
      token: other.token,
      body: nulls,
    });
    const emptied = { ...nulls, tags: [], customFields: {}, name: created.name, version: 3 };
    expect(cleared.body).toMatchObject(emptied);
    expect(cleared.body.createdBy).toBe(created.createdBy);
    expect(cleared.body.updatedBy).not.toBe(created.createdBy);

    // Nothing to change: no write, no new version.
    for (const body of [{}, { name: created.name, tags: [] }]) {
      const same = await call('PATCH', `/${created.id}`, { body });
      expect(same.status).toBe(200);
      expect(same.body.version).toBe(3);
    }
  });
});

describe('companies: externalId', () => {
  it('is unique among live companies of an instance on create, patch and restore', async () => {
    const { call, create, list, tenant } = await workspace();
    const holder = await create({ externalId: 'crm-7' });
    const dup = await call('POST', '', { body: company({ externalId: 'crm-7' }) });
    expect(dup.status).toBe(409);
    expect(errorOf(dup.body).errorCode).toBe('CONFLICT');
    expect(fieldsOf(dup.body)).toEqual(['externalId']);
    expect((await list()).body.metaInfo.totalElements).toBe(1);

    const other = await create({ externalId: 'crm-8' });
    const patch = await call('PATCH', `/${other.id}`, { body: { externalId: 'crm-7', name: 'Renamed' } });
    expect(patch.status).toBe(409);
    expect(fieldsOf(patch.body)).toEqual(['externalId']);
    expect((await call('GET', `/${other.id}`)).body).toEqual(other);

    // Another instance is another namespace.
    const sandbox = await kith.request('POST', `/${tenant.name}/sandbox/companies`, {
      token: await tenant.token(),
      body: company({ externalId: 'crm-7' }),
    });
    expect(sandbox.status).toBe(201);

    // A deleted company frees its externalId; restoring it while another holds the id is a 409.
    expect((await call('DELETE', `/${holder.id}`)).status).toBe(204);
    const taker = await create({ externalId: 'crm-7' });
    const restore = await call('POST', `/${holder.id}/restore`);
    expect(restore.status).toBe(409);
    expect(fieldsOf(restore.body)).toEqual(['externalId']);
    expect((await call('GET', `/${holder.id}`)).status).toBe(404);
    expect((await call('DELETE', `/${taker.id}`)).status).toBe(204);
    expect((await call('POST', `/${holder.id}/restore`)).status).toBe(200);
  });
});

describe('companies: trash', () => {
  it('soft-deletes, hides, lists by flag and restores', async () => {
    const { call, create, list } = await workspace();
    const kept = await create({ name: 'Kept' });
    const gone = await create({ name: 'Gone' });
    const del = await call('DELETE', `/${gone.id}`);
    expect(del.status).toBe(204);
    expect(del.headers.get('etag')).toBe('"2"');
    expect((await call('GET', `/${gone.id}`)).status).toBe(404);
    expect((await call('DELETE', `/${gone.id}`)).status).toBe(404);
    expect((await call('PATCH', `/${gone.id}`, { body: { phone: '1' } })).status).toBe(404);
    const trashed = await call('GET', `/${gone.id}?includeDeleted=true`);
    expect(trashed.body).toMatchObject({ deletedAt: anyString, version: 2 });

    const names = async (query: string) => (await list(query)).body.data.map((c) => c.name);
    expect(await names('')).toEqual(['Kept']);
    for (const yes of ['true', 'True', '1']) {
      expect(await names(`?includeDeleted=${yes}`)).toEqual(['Gone', 'Kept']);
      expect(await names(`?onlyDeleted=${yes}&includeDeleted=${yes}`)).toEqual(['Gone']);
    }
    for (const no of ['false', 'False', '0']) expect(await names(`?onlyDeleted=${no}`)).toEqual(['Kept']);
    expect((await list('?onlyDeleted=yes')).status).toBe(400);

    const restored = await call('POST', `/${gone.id}/restore`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ deletedAt: null, version: 3, name: 'Gone' });
    expect(restored.headers.get('etag')).toBe('"3"');
    const again = await call('POST', `/${kept.id}/restore`);
    expect(again.body).toEqual(kept);
    expect(await names('')).toEqual(['Gone', 'Kept']);
  });
});

describe('companies: list', () => {
  it('pages in name order (case and accents ignored, id breaking ties) with P3 metaInfo', async () => {
    const { create, list } = await workspace();
    for (const name of ['cherry', 'Éclair', 'apple', 'Banana', 'date', 'banana']) await create({ name });
    const first = await list('?page=0&size=4');
    expect(first.status).toBe(200);
    expect(first.body.metaInfo).toEqual({
      page: 0,
      pageSize: 4,
      totalElements: 6,
      numberOfElements: 4,
      totalPages: 2,
      firstPage: true,
      lastPage: false,
    });
    const second = await list('?page=1&size=4');
    expect(second.body.metaInfo).toMatchObject({ numberOfElements: 2, firstPage: false, lastPage: true });
    const all = [...first.body.data, ...second.body.data];
    const expected = 'apple banana banana cherry date éclair'.split(' ');
    expect(all.map((c) => c.name.toLowerCase())).toEqual(expected);
    const bananas = all.filter((c) => c.name.toLowerCase() === 'banana').map((c) => c.id);
    expect(bananas).toEqual([...bananas].sort());
    expect((await list('?page=5')).body).toMatchObject({ data: [], metaInfo: { totalElements: 6 } });
  });

  it('searches names case- and accent-insensitively, treating % and _ literally', async () => {
    const { create, list } = await workspace();
    for (const name of ['Café Rouge', 'CAFETERIA', 'Bistro', '100% Juice', '100 Juice'])
      await create({ name });
    const names = async (search: string) =>
      (await list(`?search=${encodeURIComponent(search)}`)).body.data.map((c) => c.name);
    expect(await names('cafe')).toEqual(['Café Rouge', 'CAFETERIA']);
    expect(await names('ISTR')).toEqual(['Bistro']);
    expect(await names('0%')).toEqual(['100% Juice']);
    expect(await names('_')).toEqual([]);
  });

  it('refuses bad paging and unknown query parameters', async () => {
    const { list } = await workspace();
    for (const query of ['?size=0', '?size=101', '?page=-1', '?sort=name', '?search=' + 'x'.repeat(201)]) {
      expect((await list(query)).status, query).toBe(400);
    }
  });
});

describe('companies: isolation', () => {
  it("answers another tenant's or instance's company exactly like a random id", async () => {
    const mine = await workspace();
    const sandbox = await workspace('sandbox');
    const { id } = await sandbox.create();
    const sameTenantOtherInstance = `/${sandbox.tenant.name}/live/companies`;
    const otherTenant = `/${mine.tenant.name}/live/companies`;
    const requests: Array<[string, string, unknown]> = [
      ['GET', '', undefined],
      ['PATCH', '', { phone: '1' }],
      ['DELETE', '', undefined],
      ['POST', '/restore', undefined],
    ];
    for (const [method, suffix, body] of requests) {
      const ask = async (base: string, token: string, target: string) =>
        kith.request(method, `${base}/${target}${suffix}`, { token, ...(body ? { body } : {}) });
      const random = await ask(otherTenant, mine.token, randomUUID());
      expect(random.status, method).toBe(404);
      expect(withoutDate((await ask(otherTenant, mine.token, id)).body)).toEqual(withoutDate(random.body));
      const crossInstance = await ask(sameTenantOtherInstance, sandbox.token, id);
      expect(crossInstance.status).toBe(404);
      expect(withoutDate(crossInstance.body)).toEqual(withoutDate(random.body));
    }
    expect((await sandbox.call('GET', `/${id}`)).body.version).toBe(1);
  });
});

describe('companies: ETag and If-Match', () => {
  it('refuses a stale If-Match on PATCH, DELETE and restore with 412, writing nothing', async () => {
    const { call, create } = await workspace();
    const { id } = await create();
    const stale = { 'if-match': '"7"' };
    const refused = await call('PATCH', `/${id}`, { body: { phone: '1' }, headers: stale });
    expect(refused.status).toBe(412);
    expect(errorOf(refused.body).details).toEqual({ currentETag: '"1"' });
    expect((await call('DELETE', `/${id}`, { headers: stale })).status).toBe(412);
    expect((await call('GET', `/${id}`)).body.version).toBe(1);

    // Every form that names the current version (1, then 2, …) is accepted.
    for (const [i, ifMatch] of ['"1"', 'W/"2"', '"0", "3"', '*'].entries()) {
      const res = await call('PATCH', `/${id}`, {
        body: { phone: `p${i}` },
        headers: { 'if-match': ifMatch },
      });
      expect(res.status, ifMatch).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${i + 2}"`);
    }
    expect((await call('DELETE', `/${id}`, { headers: { 'if-match': '"4"' } })).status).toBe(412);
    expect((await call('DELETE', `/${id}`, { headers: { 'if-match': '"5"' } })).status).toBe(204);
    expect((await call('POST', `/${id}/restore`, { headers: { 'if-match': '"5"' } })).status).toBe(412);
    expect((await call('GET', `/${id}?includeDeleted=1`)).body).toMatchObject({ version: 6, phone: 'p3' });
    expect((await call('POST', `/${id}/restore`, { headers: { 'if-match': '"6"' } })).status).toBe(200);
  });

  it('lets exactly one of two concurrent PATCHes with the same ETag win', async () => {
    const { call, create } = await workspace();
    const { id } = await create();
    const results = await Promise.all(
      ['a', 'b'].map((phone) => call('PATCH', `/${id}`, { body: { phone }, headers: { 'if-match': '"1"' } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!;
    expect((await call('GET', `/${id}`)).body).toEqual(winner.body);
  });

  it('applies every one of several concurrent PATCHes sent without If-Match', async () => {
    const { call, create } = await workspace();
    const { id } = await create();
    const results = await Promise.all(
      ['1', '2', '3', '4'].map((phone) => call('PATCH', `/${id}`, { body: { phone } })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await call('GET', `/${id}`)).body.version).toBe(5);
  });
});

describe('companies: idempotency and helpers', () => {
  it('replays a retried POST with the same Idempotency-Key: same 201 body, one company', async () => {
    const { call, list } = await workspace();
    const options = { body: company({ tags: ['x'] }), headers: { 'idempotency-key': randomUUID() } };
    const first = await call('POST', '', options);
    const retry = await call('POST', '', options);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('etag')).toBe('"1"');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await list()).body.metaInfo.totalElements).toBe(1);
  });

  it('gives the contacts module live companies only, and nothing from another instance', async () => {
    const { create, call, tenant } = await workspace();
    const live = await create({ name: 'Live' });
    const gone = await create({ name: 'Gone' });
    await call('DELETE', `/${gone.id}`);
    const t = await kith.services.tenants.getTenant(tenant.name);
    const instances = await kith.services.tenants.listInstances(t.id);
    // The scope the authorization hook would build for a request to this instance.
    const scopeFor = (name: string) => {
      const { id: instanceId, phoneRegion } = instances.find((i) => i.name === name)!;
      return { tenantId: t.id, tenant: t.name, instanceId, instance: name, phoneRegion };
    };
    const { companies } = kith.services;
    expect(await companies.requireLive(scopeFor('live'), live.id)).toEqual({ id: live.id, name: 'Live' });
    const notFound = { code: 'NOT_FOUND' };
    await expect(companies.requireLive(scopeFor('live'), gone.id)).rejects.toMatchObject(notFound);
    await expect(companies.requireLive(scopeFor('sandbox'), live.id)).rejects.toMatchObject(notFound);
    const found = await companies.findLiveByIds(scopeFor('live'), [live.id, gone.id, live.id, randomUUID()]);
    expect([...found.values()]).toEqual([{ id: live.id, name: 'Live' }]);
    expect((await companies.findLiveByIds(scopeFor('sandbox'), [live.id])).size).toBe(0);
  });

  it('builds byte-wise sort keys: lower-case, accents stripped', () => {
    expect(sortKey('Éclair Ångström')).toBe('eclair angstrom');
    expect(sortKey('İSTANBUL Ⅻ')).toBe('istanbul xii');
  });
});

const anyId = () => randomUUID();
const routes = [
  { method: 'POST', path: '', permission: 'companies:create', body: company() },
  { method: 'GET', path: '', permission: 'companies:read' },
  { method: 'GET', path: `/${anyId()}`, permission: 'companies:read' },
  { method: 'PATCH', path: `/${anyId()}`, permission: 'companies:update', body: { phone: '1' } },
  { method: 'DELETE', path: `/${anyId()}`, permission: 'companies:delete' },
  { method: 'POST', path: `/${anyId()}/restore`, permission: 'companies:delete' },
] as const;
for (const route of routes) {
  securitySuite(() => kith, {
    method: route.method,
    path: (t, i) => `/${t}/${i}/companies${route.path}`,
    permission: route.permission,
    instanceScoped: true,
    tenantScoped: true,
    ...('body' in route ? { body: route.body } : {}),
  });
}
