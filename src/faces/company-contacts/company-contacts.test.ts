// Seed 003's documented requests and examples, at both places the face is served, on the run's engine.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import type { Contact } from '../../modules/contacts/contacts.schemas.ts';
import { expectDetail, faceClient, seedContact, type Mount } from './company-contacts.fixtures.ts';
import type { FaceContact } from './company-contacts.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const FIELDS = [
  'company_id',
  'created_at',
  'designation',
  'email',
  'first_name',
  'id',
  'is_primary',
  'last_name',
  'phone',
  'updated_at',
];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe.each(['bare', 'scoped'] as Mount[])('the seed at the %s path', (mount) => {
  it('POST /contacts: creates the example contact and answers 201 with its fields in snake_case', async () => {
    const face = await faceClient(kith, mount);
    const companyId = await face.company();
    const res = await face.call('POST', '', { body: seedContact(companyId) });
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(FIELDS);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      company_id: companyId,
      first_name: 'John',
      last_name: 'Doe',
      email: 'john@acme.com',
      phone: '+91-9876543210',
      designation: 'Sales Manager',
      is_primary: false,
      created_at: expect.stringMatching(ISO) as string,
      updated_at: expect.stringMatching(ISO) as string,
    });
    expect(res.body.updated_at).toBe(res.body.created_at);
  });

  it('GET /contacts/{id}: answers the same object; an unknown id is 404 "Contact not found"', async () => {
    const face = await faceClient(kith, mount);
    const created = await face.create(seedContact(await face.company()));
    const res = await face.call('GET', `/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
    expectDetail(await face.call('GET', `/${randomUUID()}`), 404, 'Contact not found');
  });

  it('GET /contacts?company_id=: lists the company’s contacts as a plain array', async () => {
    const face = await faceClient(kith, mount);
    const acme = await face.company('Acme');
    const other = await face.company('Other');
    const john = await face.create(seedContact(acme, { is_primary: true }));
    const jane = await face.create(seedContact(acme, { first_name: 'Jane', email: 'jane@acme.com' }));
    await face.create(seedContact(other, { first_name: 'Elsewhere', email: 'x@other.com' }));
    await face.create(seedContact(null, { first_name: 'Nobody', email: 'n@example.com' }));
    const res = await face.call<FaceContact[]>('GET', `?company_id=${acme}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual([john, jane]);
    // Audited as a list, with its count, like the directory's.
    await kith.services.audit.flush();
    const audit = await kith.request<{ data: Array<{ action: string; resultCount: number | null }> }>(
      'GET',
      `/${face.tenant.name}/admin/audit-data?action=listed`,
      { token: face.token },
    );
    expect(audit.body.data.map((r) => [r.action, r.resultCount])).toEqual([['listed', 2]]);
  });

  it('GET /contacts: skip and limit page the list, limit defaults to 100', async () => {
    const face = await faceClient(kith, mount);
    const acme = await face.company();
    const directory = `/${face.tenant.name}/${face.tenant.instances[0]}/contacts`;
    for (let i = 0; i < 101; i++) {
      const res = await kith.request('POST', directory, {
        token: face.token,
        body: { firstName: `P${i}`, email: `p${i}@acme.com`, companyId: acme },
      });
      expect(res.status).toBe(201);
    }
    const all = await face.call<FaceContact[]>('GET', `?company_id=${acme}`);
    expect(all.body).toHaveLength(100);
    expect(all.body.map((c) => c.first_name).slice(0, 2)).toEqual(['P0', 'P1']);
    const rest = await face.call<FaceContact[]>('GET', `?company_id=${acme}&skip=100`);
    expect(rest.body.map((c) => c.first_name)).toEqual(['P100']);
    const page = await face.call<FaceContact[]>('GET', `?company_id=${acme}&skip=10&limit=3`);
    expect(page.body.map((c) => c.first_name)).toEqual(['P10', 'P11', 'P12']);
    expectDetail(await face.call('GET', `?company_id=${acme}&limit=0`), 400, /limit/);
    expectDetail(await face.call('GET', `?company_id=${acme}&skip=-1`), 400, /skip/);
  });

  it('GET /contacts: company_id is required and must be a uuid', async () => {
    const face = await faceClient(kith, mount);
    expectDetail(await face.call('GET'), 400, /company_id.*required/);
    expectDetail(await face.call('GET', '?company_id=acme'), 400, /company_id/);
  });

  it('GET /contacts: 403 "Not enough permissions…" for a company the instance does not have', async () => {
    const face = await faceClient(kith, mount);
    expectDetail(
      await face.call('GET', `?company_id=${randomUUID()}`),
      403,
      "Not enough permissions to access this company's contacts",
    );
  });

  it('PATCH /contacts/{id}: applies the example and answers the updated contact', async () => {
    const face = await faceClient(kith, mount);
    const acme = await face.company();
    const john = await face.create(seedContact(acme));
    const boss = await face.create(seedContact(acme, { email: 'boss@acme.com', is_primary: true }));
    kith.clock.advance(1000);
    const res = await face.call('PATCH', `/${john.id}`, {
      body: { designation: 'Head of Sales', is_primary: true },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      ...john,
      designation: 'Head of Sales',
      is_primary: true,
      updated_at: expect.stringMatching(ISO) as string,
    });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThan(Date.parse(john.updated_at));
    // One primary contact per company: the previous one is no longer.
    expect((await face.call('GET', `/${boss.id}`)).body.is_primary).toBe(false);
  });

  it('PATCH /contacts/{id}: every field optional, null clears an optional one, unknown id 404', async () => {
    const face = await faceClient(kith, mount);
    const acme = await face.company();
    const john = await face.create(seedContact(acme));
    const res = await face.call('PATCH', `/${john.id}`, {
      body: { last_name: null, phone: null, designation: null, company_id: null, email: 'j.doe@acme.com' },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      first_name: 'John',
      last_name: null,
      phone: null,
      designation: null,
      company_id: null,
      email: 'j.doe@acme.com',
    });
    expect((await face.call('PATCH', `/${john.id}`, { body: {} })).status).toBe(200);
    expectDetail(
      await face.call('PATCH', `/${randomUUID()}`, { body: { designation: 'x' } }),
      404,
      'Contact not found',
    );
    expectDetail(await face.call('PATCH', `/${john.id}`, { body: { first_name: null } }), 400, /first_name/);
  });

  it('DELETE /contacts/{id}: 204 with no body, permanently; then 404', async () => {
    const face = await faceClient(kith, mount);
    const john = await face.create(seedContact(await face.company()));
    const res = await face.call('DELETE', `/${john.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectDetail(await face.call('GET', `/${john.id}`), 404, 'Contact not found');
    expectDetail(await face.call('DELETE', `/${john.id}`), 404, 'Contact not found');
    // Not in the trash either: the directory cannot restore it.
    const directory = `/${face.tenant.name}/${face.tenant.instances[0]}/contacts`;
    const restore = await kith.request('POST', `${directory}/${john.id}/restore`, { token: face.token });
    expect(restore.status).toBe(404);
  });

  it('POST /contacts: first_name and email are required, company_id is optional', async () => {
    const face = await faceClient(kith, mount);
    expectDetail(await face.call('POST', '', { body: { email: 'a@b.com' } }), 400, /first_name.*required/);
    expectDetail(await face.call('POST', '', { body: { first_name: 'A' } }), 400, /email.*required/);
    expectDetail(
      await face.call('POST', '', { body: { first_name: ' ', email: 'a@b.com' } }),
      400,
      /first_name/,
    );
    expectDetail(await face.call('POST', '', { body: { first_name: 'A', email: 'nope' } }), 400, /email/);
    const minimal = await face.create({ first_name: 'Ann', email: 'ann@example.com' });
    expect(minimal).toMatchObject({
      company_id: null,
      first_name: 'Ann',
      last_name: null,
      email: 'ann@example.com',
      phone: null,
      designation: null,
      is_primary: false,
    });
    // A contact with no company is a contact of the instance all the same.
    expect((await face.call('GET', `/${minimal.id}`)).body).toEqual(minimal);
  });

  it('POST /contacts: 400 "Company not found" for a company_id the instance does not have', async () => {
    const face = await faceClient(kith, mount);
    expectDetail(await face.call('POST', '', { body: seedContact(randomUUID()) }), 400, 'Company not found');
    const elsewhere = await faceClient(kith, mount);
    const theirs = await elsewhere.company();
    expectDetail(await face.call('POST', '', { body: seedContact(theirs) }), 400, 'Company not found');
    const john = await face.create(seedContact(null));
    expectDetail(
      await face.call('PATCH', `/${john.id}`, { body: { company_id: theirs } }),
      400,
      'Company not found',
    );
  });

  it('POST /contacts: rejects fields the seed does not have and bad phones, naming the field', async () => {
    const face = await faceClient(kith, mount);
    expectDetail(await face.call('POST', '', { body: seedContact(null, { tags: ['x'] }) }), 400, /tags/);
    expectDetail(
      await face.call('POST', '', { body: seedContact(null, { phone: 'call me' }) }),
      400,
      /^phone /,
    );
    expectDetail(
      await face.call('POST', '', { rawBody: '{', headers: { 'content-type': 'application/json' } }),
      400,
      /JSON/,
    );
  });

  it("another tenant's contact is a 404 identical to a random id's", async () => {
    const face = await faceClient(kith, mount);
    const theirs = await (await faceClient(kith, mount)).create(seedContact(null));
    const other = await face.call('GET', `/${theirs.id}`);
    const random = await face.call('GET', `/${randomUUID()}`);
    expect(other.status).toBe(404);
    expect(other.text).toBe(random.text);
    expect((await face.call('PATCH', `/${theirs.id}`, { body: {} })).text).toBe(random.text);
    expect((await face.call('DELETE', `/${theirs.id}`)).text).toBe(random.text);
  });
});

describe('the face over the contact model', () => {
  it('maps designation ↔ jobTitle, is_primary ↔ isPrimary, and keeps the phone as written', async () => {
    const face = await faceClient(kith, 'scoped');
    const acme = await face.company();
    const john = await face.create(seedContact(acme, { is_primary: true }));
    const directory = `/${face.tenant.name}/live/contacts`;
    const model = await kith.request<Contact>('GET', `${directory}/${john.id}`, { token: face.token });
    expect(model.body).toMatchObject({
      companyId: acme,
      firstName: 'John',
      lastName: 'Doe',
      jobTitle: 'Sales Manager',
      isPrimary: true,
      email: 'john@acme.com',
      phone: '+919876543210',
      phones: [{ number: '+91-9876543210', primary: true }],
      company: 'Acme',
    });
    // …and a contact written through the directory reads back through the face.
    const made = await kith.request<Contact>('POST', directory, {
      token: face.token,
      body: {
        firstName: 'Dee',
        jobTitle: 'CTO',
        phone: '(415) 555-0100',
        email: 'dee@acme.com',
        companyId: acme,
      },
    });
    expect((await face.call('GET', `/${made.body.id}`)).body).toMatchObject({
      first_name: 'Dee',
      designation: 'CTO',
      phone: '(415) 555-0100',
      company_id: acme,
    });
  });

  it('the bare path works in the client’s default instance, which an administrator can change', async () => {
    const tenant = await kith.newTenant({ instances: ['live', 'sandbox'] });
    const bare = await faceClient(kith, 'bare', { tenant });
    const john = await bare.create(seedContact(null));
    const inLive = await kith.request('GET', `/${tenant.name}/live/contacts-api/contacts/${john.id}`, {
      token: bare.token,
    });
    expect(inLive.status).toBe(200);
    // This node forgets its copy of the client at once; other nodes within KITH_CLIENT_CACHE_SECONDS.
    await kith.services.clients.setDefaultInstance(tenant.name, tenant.client.apiClient, 'sandbox');
    expectDetail(await bare.call('GET', `/${john.id}`), 404, 'Contact not found');
  });
});

describe('OpenAPI', () => {
  it('documents every face route at both paths, tagged, with the face’s error shape', async () => {
    const doc = await kith.request<{
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>>;
    }>('GET', '/openapi.json');
    const expected = {
      '/contacts': ['get', 'post'],
      '/contacts/{id}': ['get', 'patch', 'delete'],
      '/{tenant}/{instance}/contacts-api/contacts': ['get', 'post'],
      '/{tenant}/{instance}/contacts-api/contacts/{id}': ['get', 'patch', 'delete'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      for (const method of methods) {
        const operation = doc.body.paths[path]?.[method];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(operation!.tags).toEqual(['Face: company contacts (seed 003)']);
        expect(JSON.stringify(operation!.responses['4XX'] ?? operation!.responses['4xx'])).toContain(
          'detail',
        );
      }
    }
  });

  it('marks the token optional on the routes public intake may open, and required on the others', async () => {
    const doc = await kith.request<{
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    }>('GET', '/openapi.json');
    const security = (path: string, method: string) => doc.body.paths[path]![method]!.security;
    for (const path of ['/contacts', '/{tenant}/{instance}/contacts-api/contacts']) {
      expect(security(path, 'post')).toEqual([{ bearerAuth: [] }, {}]);
      expect(security(path, 'get')).toEqual([{ bearerAuth: [] }]);
      expect(security(`${path}/{id}`, 'get')).toEqual([{ bearerAuth: [] }, {}]);
      expect(security(`${path}/{id}`, 'patch')).toEqual([{ bearerAuth: [] }, {}]);
      expect(security(`${path}/{id}`, 'delete')).toEqual([{ bearerAuth: [] }]);
    }
  });
});
