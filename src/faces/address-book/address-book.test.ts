// Seed 004's contact routes, one request at a time: bodies, defaults, soft delete, custom fields, envelopes and
// error codes, at the bare path (the client's default instance) and under a tenant's instance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { workspace } from '../../modules/audit/audit.fixtures.ts';
import type { ErrorBody } from './address-book.schemas.ts';
import { addressBook, ANA, fieldsOf, type Single } from './address-book.testing.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const CONTACT_KEYS = [
  'addresses',
  'avatar_path',
  'company',
  'created_at',
  'custom_fields',
  'deleted_at',
  'display_name',
  'emails',
  'first_name',
  'id',
  'job_title',
  'last_name',
  'notes',
  'phones',
  'source',
  'tags',
  'updated_at',
];

const errorOf = (body: unknown) => (body as ErrorBody).error;

describe('POST /contacts', () => {
  it('creates the seed’s example with every body field and answers 201 with the full contact in {data}', async () => {
    const book = await addressBook(kith);
    const body = {
      ...ANA,
      addresses: [
        {
          street: 'Calle Mayor 1',
          city: 'Madrid',
          state: 'MD',
          postal_code: '28013',
          country: 'ES',
          label: 'work',
        },
      ],
      notes: 'Met at the partner summit',
      avatar_path: '/var/lib/kith/avatars/ana.png',
      custom_fields: { tier: 'gold', score: 7 },
      source: 'import',
    };
    const res = await book.create(body);
    expect(res.status, res.text).toBe(201);
    expect(Object.keys(res.body)).toEqual(['data']);
    const { data } = res.body;
    expect(Object.keys(data).sort()).toEqual(CONTACT_KEYS);
    expect(data).toMatchObject({ ...body, deleted_at: null });
    expect(data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.created_at).toBe(data.updated_at);
    expect(res.headers.get('etag')).toBe('"1"');
    expect((await book.get(data.id)).body).toEqual(res.body);
  });

  it('generates display_name from first_name and last_name when absent, and keeps one given', async () => {
    const book = await addressBook(kith);
    expect((await book.add({ first_name: 'Ana', last_name: 'García' })).display_name).toBe('Ana García');
    expect((await book.add({ first_name: 'Ana', display_name: 'Anita' })).display_name).toBe('Anita');
  });

  it('applies the documented defaults: empty lists, null fields', async () => {
    const book = await addressBook(kith);
    const data = await book.add({ first_name: 'Solo' });
    expect(data).toMatchObject({
      last_name: null,
      emails: [],
      phones: [],
      company: null,
      job_title: null,
      addresses: [],
      notes: null,
      avatar_path: null,
      tags: [],
      custom_fields: null,
      source: null,
    });
  });

  it('answers a contact without any name with VALIDATION_ERROR naming display_name', async () => {
    const book = await addressBook(kith);
    const res = await book.create({ notes: 'who?' });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(fieldsOf(res.body)).toEqual(['display_name']);
    expect(errorOf(res.body).message).toContain('(first_name, last_name or display_name)');
  });

  it('names every failing field in the face’s names, including the ones the model checks', async () => {
    const book = await addressBook(kith);
    const res = await book.create({
      first_name: 'X',
      emails: [{ address: 'not-an-email', label: 'work' }],
      phones: [{ number: '+34612345678', label: 'pager' }],
      addresses: [{ postalCode: '1' }],
      displayName: 'camel',
    });
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body).sort()).toEqual([
      'addresses[0].postalCode',
      'displayName',
      'emails[0].address',
      'phones[0].label',
    ]);
    const phone = await book.create({
      first_name: 'X',
      phones: [{ number: '+34612345678' }, { number: '12' }],
    });
    expect(fieldsOf(phone.body)).toEqual(['phones[1].number']);
    const big = await book.create({ first_name: 'X', custom_fields: { big: 'x'.repeat(17_000) } });
    expect(fieldsOf(big.body)).toEqual(['custom_fields']);
    expect(errorOf(big.body).details).toMatchObject({ fields: [{ location: 'body' }] });
  });

  it('answers a body that is not JSON with VALIDATION_ERROR', async () => {
    const book = await addressBook(kith);
    const res = await kith.request('POST', book.base, {
      token: book.token,
      rawBody: '{"first_name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body)).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { reason: 'MALFORMED_REQUEST' },
    });
  });
});

describe('GET /contacts/:id', () => {
  it('answers 404 NOT_FOUND for an unknown id, a soft-deleted contact, and another tenant’s contact alike', async () => {
    const book = await addressBook(kith);
    const other = await addressBook(kith);
    const id = (await book.add({ first_name: 'Gone' })).id;
    const theirs = (await other.add({ first_name: 'Theirs' })).id;
    const unknown = await book.get('00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'Contact not found',
        details: { id: '00000000-0000-4000-8000-000000000000' },
      },
    });
    expect((await book.remove(id)).status).toBe(204);
    const deleted = await book.get(id);
    expect(deleted.status).toBe(404);
    expect(deleted.body).toEqual({
      error: { code: 'NOT_FOUND', message: 'Contact not found', details: { id } },
    });
    const foreign = await book.get(theirs);
    expect(foreign.text).toBe(unknown.text.replace('00000000-0000-4000-8000-000000000000', theirs));
  });
});

describe('PATCH /contacts/:id', () => {
  it('changes only the fields sent, clears with null, and regenerates a generated display_name', async () => {
    const book = await addressBook(kith);
    const created = await book.add({ ...ANA, display_name: undefined, notes: 'n' });
    const res = await book.patch(created.id, {
      last_name: 'López',
      job_title: null,
      addresses: [{ city: 'Sevilla', postal_code: '41001' }],
      avatar_path: 'avatars/ana.jpg',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toMatchObject({
      display_name: 'Ana López',
      first_name: 'Ana',
      last_name: 'López',
      job_title: null,
      notes: 'n',
      emails: ANA.emails,
      addresses: [{ street: null, city: 'Sevilla', postal_code: '41001' }],
      avatar_path: 'avatars/ana.jpg',
    });
    expect(res.body.data.updated_at >= created.updated_at).toBe(true);
    expect(res.headers.get('etag')).toBe('"2"');
  });

  it('accepts every updatable field and nothing else', async () => {
    const book = await addressBook(kith);
    const { id } = await book.add({ first_name: 'A', source: 'import' });
    const all = {
      display_name: 'B C',
      first_name: 'B',
      last_name: 'C',
      emails: [{ address: 'b@example.com', label: 'personal', primary: true }],
      phones: [{ number: '+14155550001', label: 'home', primary: true }],
      company: 'Co',
      job_title: 'CTO',
      addresses: [
        { street: '1 Main St', city: 'X', state: 'CA', postal_code: '1', country: 'US', label: 'home' },
      ],
      notes: 'x',
      avatar_path: '/a.png',
      tags: ['t'],
      custom_fields: { a: 1 },
    };
    const res = await book.patch(id, all);
    expect(res.status, res.text).toBe(200);
    expect(res.body.data).toMatchObject({ ...all, source: 'import' });
    const refused = await book.patch(id, { source: 'web', id: 'x', created_at: '2020-01-01T00:00:00Z' });
    expect(refused.status).toBe(400);
    expect(fieldsOf(refused.body).sort()).toEqual(['created_at', 'id', 'source']);
  });

  it('answers a stale If-Match with CONFLICT', async () => {
    const book = await addressBook(kith);
    const { id } = await book.add({ first_name: 'A' });
    await book.patch(id, { notes: 'one' });
    const res = await book.patch(id, { notes: 'two' }, { 'if-match': '"1"' });
    expect(res.status).toBe(412);
    expect(errorOf(res.body)).toMatchObject({ code: 'CONFLICT', details: { reason: 'PRECONDITION_FAILED' } });
  });
});

describe('PATCH /contacts/:id/custom', () => {
  it('merges shallowly into custom_fields; a null value removes its key; nested objects are replaced', async () => {
    const book = await addressBook(kith);
    const { id } = await book.add({ first_name: 'A', custom_fields: { a: 1, b: { x: 1, y: 2 }, c: 'keep' } });
    const res = await book.custom(id, { a: 2, b: { x: 9 }, c: null, d: [1] });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.custom_fields).toEqual({ a: 2, b: { x: 9 }, d: [1] });
    expect(res.body.data.first_name).toBe('A');
    expect((await book.custom(id, [1])).status).toBe(400);
    expect((await book.custom('00000000-0000-4000-8000-000000000000', { a: 1 })).status).toBe(404);
    // Without any key left, custom_fields is the seed's default again: null.
    expect((await book.custom(id, { a: null, b: null, d: null })).body.data.custom_fields).toBeNull();
  });

  it('takes null for custom_fields on create and PATCH as "none"', async () => {
    const book = await addressBook(kith);
    const { id } = await book.add({ first_name: 'A', custom_fields: null });
    expect((await book.custom(id, { a: 1 })).body.data.custom_fields).toEqual({ a: 1 });
    const cleared = await book.patch(id, { custom_fields: null });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.body.data.custom_fields).toBeNull();
  });
});

describe('DELETE and restore', () => {
  it('soft-deletes (sets deleted_at), lists it only on request, and restores it into listings', async () => {
    const book = await addressBook(kith);
    const kept = await book.add({ first_name: 'Kept' });
    const { id } = await book.add({ first_name: 'Trashed' });
    expect((await book.remove(id)).status).toBe(204);
    expect(await book.names()).toEqual(['Kept']);
    const trash = await book.list('?only_deleted=true');
    expect(trash.body.data.map((c) => c.id)).toEqual([id]);
    expect(trash.body.data[0]!.deleted_at).toEqual(expect.any(String));
    expect(await book.names('?include_deleted=true')).toEqual(['Kept', 'Trashed']);
    expect((await book.remove(id)).status).toBe(404);
    const restored = await book.restore(id);
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.data).toMatchObject({ id, deleted_at: null });
    expect(await book.names()).toEqual(['Kept', 'Trashed']);
    const again = await book.restore(kept.id);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(kept);
  });

  it('deletes for good with ?permanent=true, also from the trash; a purged contact cannot be restored', async () => {
    const book = await addressBook(kith);
    const live = await book.add({ first_name: 'Live' });
    const trashed = await book.add({ first_name: 'Trashed' });
    await book.remove(trashed.id);
    expect((await book.remove(live.id, '?permanent=true')).status).toBe(204);
    expect((await book.remove(trashed.id, '?permanent=true')).status).toBe(204);
    expect((await book.list('?include_deleted=true')).body.meta.total).toBe(0);
    const res = await book.restore(live.id);
    expect(res.status).toBe(404);
    expect(errorOf(res.body).code).toBe('NOT_FOUND');
  });
});

describe('where the face is served', () => {
  it('serves the bare path from the client’s default instance, and a tenant’s instance by name', async () => {
    const bare = await addressBook(kith);
    const live = await addressBook(kith, { tenant: bare.tenant, instance: 'live' });
    const sandbox = await addressBook(kith, { tenant: bare.tenant, instance: 'sandbox' });
    const { id } = await bare.add({ first_name: 'Default' });
    expect((await live.get(id)).status).toBe(200);
    expect((await sandbox.get(id)).status).toBe(404);
    await kith.services.clients.setDefaultInstance(bare.tenant.name, bare.tenant.client.apiClient, 'sandbox');
    const fresh = await addressBook(kith, { tenant: bare.tenant });
    expect((await fresh.get(id)).status).toBe(404);
    expect((await fresh.add({ first_name: 'Sandboxed' })).display_name).toBe('Sandboxed');
    expect(await sandbox.names()).toEqual(['Sandboxed']);
    const directory = await kith.request<Single>('GET', `/${bare.tenant.name}/live/contacts/${id}`, {
      token: bare.token,
    });
    expect(directory.body).toMatchObject({ id, displayName: 'Default' });
  });

  it('answers refusals in the face’s shape, keeping the challenge header', async () => {
    const res = await kith.request('GET', '/api/v1/contacts');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: 'Not valid JWT',
        details: { reason: 'NOT_VALID_JSON_WEB_TOKEN' },
      },
    });
    const book = await addressBook(kith);
    const foreign = await kith.request('GET', `/${book.tenant.name}/live/api/v1/contacts`, {
      token: await (await kith.newTenant()).token(),
    });
    expect(foreign.status).toBe(403);
    expect(errorOf(foreign.body)).toMatchObject({
      code: 'FORBIDDEN',
      details: {
        reason: 'ACCESS_FOR_API_CLIENT_RESTRICTED',
        request_uri: `/${book.tenant.name}/live/api/v1/contacts`,
      },
    });
  });

  it('audits reads and lists like the directory’s: the contact read, the page’s count and total', async () => {
    const book = await addressBook(kith);
    const audit = await workspace(kith, book.tenant);
    const { id } = await book.add({ first_name: 'Audited' });
    await book.add({ first_name: 'Other' });
    await book.get(id);
    await book.list('?limit=1');
    const rows = (await audit.history('?')).filter((r) => r.action === 'read' || r.action === 'listed');
    expect(
      rows.map((r) => [r.action, r.route, r.instance, r.resourceId, r.resultCount, r.resultTotal]),
    ).toEqual([
      ['read', '/api/v1/contacts/:id', 'live', id, null, null],
      ['listed', '/api/v1/contacts', 'live', null, 1, 2],
    ]);
  });

  it('documents every face route in the OpenAPI document under the face’s tag, with its error shape', async () => {
    const res = await kith.request<{
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>>;
    }>('GET', '/openapi.json');
    const expected = [
      ['post', '/contacts'],
      ['get', '/contacts'],
      ['get', '/contacts/{id}'],
      ['patch', '/contacts/{id}'],
      ['patch', '/contacts/{id}/custom'],
      ['delete', '/contacts/{id}'],
      ['post', '/contacts/{id}/restore'],
      ['get', '/events/ws'],
    ];
    for (const root of ['/api/v1', '/{tenant}/{instance}/api/v1']) {
      for (const [method, path] of expected) {
        const operation = res.body.paths[`${root}${path}`]?.[method!];
        expect(operation, `${method} ${root}${path}`).toBeDefined();
        expect(operation!.tags).toEqual(['Face: address book (seed 004)']);
        expect(JSON.stringify(operation!.responses['4XX'])).toContain('"error"');
      }
    }
  });
});
