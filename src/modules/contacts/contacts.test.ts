import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith, type TestTenant } from '../../../test/harness.ts';
import { contact } from '../../../test/factories.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Contact } from './contacts.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type Page = { data: Contact[]; metaInfo: Record<string, unknown> & { nextCursor: string | null } };
type ErrorBody = Array<{ errorCode: string; details: { fields?: Array<{ field: string }> } }>;

async function directory(tenant?: TestTenant, instance = 'live') {
  const t = tenant ?? (await kith.newTenant());
  const token = await t.token();
  const base = `/${t.name}/${instance}/contacts`;
  const call = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    kith.request<T>(method, path, { token, body, headers });
  return {
    tenant: t,
    token,
    base,
    create: (body: unknown, headers?: Record<string, string>) => call<Contact>('POST', base, body, headers),
    get: (id: string) => call<Contact>('GET', `${base}/${id}`),
    patch: (id: string, body: unknown, headers?: Record<string, string>) =>
      call<Contact>('PATCH', `${base}/${id}`, body, headers),
    remove: (id: string, query = '', headers?: Record<string, string>) =>
      call('DELETE', `${base}/${id}${query}`, undefined, headers),
    restore: (id: string) => call<Contact>('POST', `${base}/${id}/restore`),
    custom: (id: string, body: unknown) => call<Contact>('PATCH', `${base}/${id}/custom`, body),
    list: (query = '') => call<Page>('GET', `${base}${query}`),
    ids: async (query = '') => (await call<Page>('GET', `${base}${query}`)).body.data.map((c) => c.id),
  };
}

const fields = (body: unknown) => ((body as ErrorBody)[0]!.details.fields ?? []).map((f) => f.field);
const withoutDate = (body: unknown) =>
  (body as Array<Record<string, unknown>>).map(({ date: _d, ...rest }) => rest);

describe('creating and reading contacts', () => {
  it('creates the full model with generated and normalized fields', async () => {
    const d = await directory();
    const res = await d.create({
      firstName: ' Ana ',
      lastName: 'García',
      emails: [
        { address: 'ana@ACME.example', label: 'work' },
        { address: 'ana.g@home.example', label: 'personal', primary: true },
      ],
      phones: [{ number: '(415) 555-0001', label: 'mobile' }],
      addresses: [
        { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US', label: 'work' },
      ],
      company: 'Acme Labs',
      jobTitle: 'Head of Partnerships',
      notes: 'Met at the conference',
      tags: ['partnership', ' vip ', 'partnership'],
      customFields: { tier: 'gold', score: 7 },
      source: 'import',
      externalId: 'crm-1',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body).toMatchObject({
      firstName: 'Ana',
      lastName: 'García',
      displayName: 'Ana García',
      email: 'ana.g@home.example',
      phone: '+14155550001',
      emails: [
        { address: 'ana@acme.example', label: 'work', primary: false },
        { address: 'ana.g@home.example', label: 'personal', primary: true },
      ],
      phones: [{ number: '(415) 555-0001', label: 'mobile', primary: true, e164: '+14155550001' }],
      company: 'Acme Labs',
      tags: ['partnership', 'vip'],
      customFields: { tier: 'gold', score: 7 },
      patientId: null,
      companyId: null,
      isPrimary: false,
      deletedAt: null,
      version: 1,
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await d.get(res.body.id)).body).toEqual(res.body);
  });

  it('makes the single email/phone fields and the arrays agree both ways', async () => {
    const d = await directory();
    const created = (await d.create({ firstName: 'Kim', email: 'kim@example.com', phone: '+34612345678' }))
      .body;
    expect(created.emails).toEqual([{ address: 'kim@example.com', label: 'other', primary: true }]);
    expect(created.phones[0]).toMatchObject({ e164: '+34612345678', primary: true });
    const patched = (
      await d.patch(created.id, {
        emails: [{ address: 'a@example.com' }, { address: 'b@example.com', primary: true }],
      })
    ).body;
    expect(patched.email).toBe('b@example.com');
    const switched = (await d.patch(created.id, { email: 'a@example.com' })).body;
    expect(switched.emails.map((e) => [e.address, e.primary])).toEqual([
      ['a@example.com', true],
      ['b@example.com', false],
    ]);
    const cleared = (await d.patch(created.id, { email: null })).body;
    expect(cleared.emails.map((e) => e.address)).toEqual(['b@example.com']);
    expect(cleared.email).toBe('b@example.com');
  });

  it('names every failing field, reads phones with the default region, and rejects read-only fields', async () => {
    const d = await directory();
    const res = await d.create({
      firstName: 'X',
      emails: [{ address: 'not-an-email' }],
      phones: [{ number: '+1 415 555 0001' }, { number: 'call me' }],
      relationship: 'COUSIN',
      id: 'mine',
      version: 3,
    });
    expect(res.status).toBe(400);
    expect(fields(res.body).sort()).toEqual(['emails[0].address', 'id', 'relationship', 'version']);
    const phone = await d.create({
      firstName: 'X',
      phones: [{ number: '+1 415 555 0001' }, { number: '12' }],
    });
    expect(phone.status).toBe(400);
    expect(fields(phone.body)).toEqual(['phones[1].number']);
  });

  it('caps sizes', async () => {
    const d = await directory();
    const res = await d.create({
      firstName: 'X',
      notes: 'n'.repeat(10_001),
      tags: Array.from({ length: 51 }, (_, i) => `t${i}`),
      customFields: { big: 'x'.repeat(17_000) },
    });
    expect(res.status).toBe(400);
    expect(fields(res.body).sort()).toEqual(['notes', 'tags']);
    const custom = await d.create({ firstName: 'X', customFields: { big: 'x'.repeat(17_000) } });
    expect(fields(custom.body)).toEqual(['customFields']);
  });

  it('requires a name, and a relationship for a contact of a patient', async () => {
    const d = await directory();
    expect(fields((await d.create({ notes: 'nameless' })).body)).toEqual(['displayName']);
    expect((await d.create({ company: 'Acme' })).body.displayName).toBe('Acme');
  });

  it('answers another tenant\u2019s or instance\u2019s id exactly like a random id', async () => {
    const mine = await directory();
    const theirs = await directory();
    const sandbox = await directory(mine.tenant, 'sandbox');
    const id = (await theirs.create(contact())).body.id;
    const inSandbox = (await sandbox.create(contact())).body.id;
    const random = await mine.get('00000000-0000-4000-8000-000000000000');
    for (const res of [await mine.get(id), await mine.get(inSandbox), await mine.patch(id, { notes: 'x' })]) {
      expect(res.status).toBe(404);
      expect(withoutDate(res.body)).toEqual(
        withoutDate(random.body).map((e) => ({
          ...e,
          details: (res.body as unknown as ErrorBody)[0]!.details,
        })),
      );
      expect((res.body as unknown as ErrorBody)[0]!.errorCode).toBe('NOT_FOUND');
    }
    expect((await mine.remove(id)).status).toBe(404);
    expect(await mine.ids()).not.toContain(id);
  });
});

describe('updating', () => {
  it('patches only the fields sent, keeps displayName in step with names unless set', async () => {
    const d = await directory();
    const c = (await d.create({ firstName: 'Sam', lastName: 'Lee', jobTitle: 'CTO', tags: ['a'] })).body;
    const renamed = (await d.patch(c.id, { lastName: 'Park' })).body;
    expect(renamed).toMatchObject({ displayName: 'Sam Park', jobTitle: 'CTO', tags: ['a'], version: 2 });
    const explicit = (await d.patch(c.id, { displayName: 'Dr. Sam' })).body;
    expect((await d.patch(c.id, { firstName: 'Samuel' })).body.displayName).toBe('Dr. Sam');
    expect(explicit.displayName).toBe('Dr. Sam');
    expect((await d.patch(c.id, { displayName: null })).body.displayName).toBe('Samuel Park');
    expect((await d.patch(c.id, { jobTitle: null })).body.jobTitle).toBeNull();
  });

  it('keeps tags and search terms when a patch leaves them alone, and replaces them when it changes them', async () => {
    const d = await directory();
    const c = (await d.create(contact({ firstName: 'Quirin', lastName: 'Zeller', tags: ['keep'] }))).body;
    await d.patch(c.id, { avatarUrl: 'https://example.com/a.png' });
    expect(await d.ids('?search=quir')).toEqual([c.id]);
    expect(await d.ids('?tag=keep')).toEqual([c.id]);
    await d.patch(c.id, { tags: ['other'] });
    expect(await d.ids('?search=zell')).toEqual([c.id]);
    expect(await d.ids('?tag=keep')).toEqual([]);
    expect(await d.ids('?tag=other')).toEqual([c.id]);
    await d.patch(c.id, { firstName: 'Xaver' });
    expect(await d.ids('?search=quir')).toEqual([]);
    expect(await d.ids('?search=xav')).toEqual([c.id]);
    expect(await d.ids('?tag=other')).toEqual([c.id]);
  });

  it('honours If-Match: 412 when stale, nothing written', async () => {
    const d = await directory();
    const c = (await d.create(contact())).body;
    expect((await d.patch(c.id, { notes: 'one' }, { 'if-match': '"1"' })).status).toBe(200);
    const stale = await d.patch(c.id, { notes: 'two' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect((stale.body as unknown as ErrorBody)[0]!.errorCode).toBe('PRECONDITION_FAILED');
    expect((await d.get(c.id)).body).toMatchObject({ notes: 'one', version: 2 });
    expect((await d.remove(c.id, '', { 'if-match': '"1"' })).status).toBe(412);
    expect((await d.get(c.id)).status).toBe(200);
  });

  it('of two concurrent PATCHes with the same ETag exactly one succeeds', async () => {
    const d = await directory();
    const c = (await d.create(contact())).body;
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((n) => d.patch(c.id, { notes: n }, { 'if-match': '"1"' })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412, 412]);
    expect((await d.get(c.id)).body.version).toBe(2);
  });

  it('merges custom fields shallowly; null removes a key', async () => {
    const d = await directory();
    const c = (await d.create(contact({ customFields: { a: 1, b: { x: 1 } } }))).body;
    const merged = await d.custom(c.id, { b: { y: 2 }, c: 'new', a: null });
    expect(merged.status).toBe(200);
    expect(merged.body.customFields).toEqual({ b: { y: 2 }, c: 'new' });
  });
});

describe('trash', () => {
  it('soft-deletes, lists the trash, restores, and deletes permanently', async () => {
    const d = await directory();
    const keep = (await d.create(contact())).body;
    const gone = (await d.create(contact())).body;
    expect((await d.remove(gone.id)).status).toBe(204);
    expect((await d.get(gone.id)).status).toBe(404);
    expect(await d.ids()).toEqual([keep.id]);
    expect(await d.ids('?onlyDeleted=true')).toEqual([gone.id]);
    expect((await d.ids('?includeDeleted=True')).sort()).toEqual([keep.id, gone.id].sort());
    const trashed = (await d.list('?onlyDeleted=true')).body.data[0]!;
    expect(trashed.deletedAt).not.toBeNull();
    const restored = await d.restore(gone.id);
    expect(restored.status).toBe(200);
    expect(restored.body.deletedAt).toBeNull();
    expect((await d.remove(gone.id, '?permanent=true')).status).toBe(204);
    expect(await d.ids('?includeDeleted=true')).toEqual([keep.id]);
    expect((await d.restore(gone.id)).status).toBe(404);
    expect((await d.list('?search=' + encodeURIComponent(gone.lastName!))).body.data).toEqual([]);
  });

  it('keeps externalId unique among live contacts', async () => {
    const d = await directory();
    const first = (await d.create(contact({ externalId: 'ext-1' }))).body;
    const dup = await d.create(contact({ externalId: 'ext-1' }));
    expect(dup.status).toBe(409);
    expect(await d.ids()).toEqual([first.id]);
    await d.remove(first.id);
    const reuse = await d.create(contact({ externalId: 'ext-1' }));
    expect(reuse.status).toBe(201);
    expect((await d.restore(first.id)).status).toBe(409);
  });
});

describe('listing', () => {
  it('sorts by each key both ways and pages by limit/offset, page/size and cursor', async () => {
    const d = await directory();
    const names = ['delta', 'Alpha', 'charlie', 'Bravo', 'echo'];
    const made: Contact[] = [];
    for (const [i, n] of names.entries()) {
      made.push((await d.create({ firstName: n, company: names[(i + 2) % 5], lastName: `Z${4 - i}` })).body);
    }
    const byName = (await d.list('?sort=displayName')).body.data.map((c) => c.firstName);
    expect(byName).toEqual(['Alpha', 'Bravo', 'charlie', 'delta', 'echo']);
    expect((await d.list('?sort=displayName&order=desc')).body.data.map((c) => c.firstName)).toEqual(
      [...byName].reverse(),
    );
    expect((await d.list('?sort=lastName')).body.data.map((c) => c.lastName)).toEqual([
      'Z0',
      'Z1',
      'Z2',
      'Z3',
      'Z4',
    ]);
    expect((await d.list('?sort=createdAt')).body.data.map((c) => c.id)).toEqual(made.map((c) => c.id));
    expect((await d.list('?sort=company')).body.data.map((c) => c.company)).toEqual([
      'Alpha',
      'Bravo',
      'charlie',
      'delta',
      'echo',
    ]);
    const offset = await d.list('?limit=2&offset=2');
    expect(offset.body.data.map((c) => c.firstName)).toEqual(['charlie', 'delta']);
    expect(offset.body.metaInfo).toMatchObject({ totalElements: 5, numberOfElements: 2, offset: 2, page: 1 });
    expect((await d.list('?page=2&size=2')).body.data.map((c) => c.firstName)).toEqual(['echo']);
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const page = await d.list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.data.map((c) => c.firstName!));
      if (!page.body.metaInfo.nextCursor) {
        expect(page.body.metaInfo.lastPage).toBe(true);
        break;
      }
      cursor = page.body.metaInfo.nextCursor;
    }
    expect(seen).toEqual(byName);
    const mismatched = await d.list(
      `?limit=2&sort=company&cursor=${(await d.list('?limit=2')).body.metaInfo.nextCursor}`,
    );
    expect(mismatched.status).toBe(400);
    expect((await d.list('?cursor=garbage')).status).toBe(400);
  });

  it('stores notes with a very long word, and still finds the contact by its other words', async () => {
    const d = await directory();
    const notes = `pasted ${'x'.repeat(3000)} token`;
    const created = await d.create(contact({ firstName: 'Longword', notes }));
    expect(created.status).toBe(201);
    expect(created.body.notes).toBe(notes);
    expect(await d.ids('?search=pasted')).toEqual([created.body.id]);
    expect(await d.ids(`?search=${'x'.repeat(20)}`)).toEqual([]);
  });

  it('pages search results with a cursor, in order, without repeats', async () => {
    const d = await directory();
    for (let i = 0; i < 7; i++) await d.create(contact({ firstName: `Walda${i}`, lastName: `Zed${6 - i}` }));
    await d.create(contact({ firstName: 'Other', lastName: 'Person' }));
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 5; pages++) {
      const page = (await d.list(`?search=walda&limit=3&sort=lastName${cursor}`)).body;
      seen.push(...page.data.map((c) => c.lastName!));
      if (!page.metaInfo.nextCursor) break;
      cursor = `&cursor=${page.metaInfo.nextCursor}`;
    }
    expect(seen).toEqual(['Zed0', 'Zed1', 'Zed2', 'Zed3', 'Zed4', 'Zed5', 'Zed6']);
  });

  it('pages a common and a rare tag in the same order (the service reads them by different plans)', async () => {
    const d = await directory();
    // 40 contacts: a page of 5 of "common" (36 of them) is read along the sort index, a page of "rare" (3) from
    // the tag's contacts; both must give the same rows and order as filtering and sorting by hand.
    const made = [];
    for (let i = 0; i < 40; i++) {
      const tags = [...(i % 10 !== 0 ? ['common'] : []), ...(i % 13 === 1 ? ['rare'] : [])];
      made.push((await d.create(contact({ lastName: `L${(i * 7) % 40}`, tags }))).body);
    }
    await d.remove(made[3]!.id);
    const live = made.filter((_, i) => i !== 3);
    const expected = (tag: string) =>
      live
        .filter((c) => c.tags.includes(tag))
        .sort((a, b) => (a.lastName! < b.lastName! ? 1 : a.lastName! > b.lastName! ? -1 : 0))
        .map((c) => c.id);
    for (const tag of ['common', 'rare']) {
      const want = expected(tag);
      expect(await d.ids(`?tag=${tag}&sort=lastName&order=desc&limit=5`)).toEqual(want.slice(0, 5));
      expect(await d.ids(`?tag=${tag}&sort=lastName&order=desc&limit=5&offset=5`)).toEqual(want.slice(5, 10));
      const page = (await d.list(`?tag=${tag}&limit=5`)).body.metaInfo;
      expect(page).toMatchObject({ totalElements: want.length, totalIsEstimate: false });
    }
    const both = expected('common').filter((id) => expected('rare').includes(id));
    expect(await d.ids('?tag=common&tag=rare&sort=lastName&order=desc')).toEqual(both);
    expect(await d.ids('?tag=common&onlyDeleted=true')).toEqual([made[3]!.id]);
  });

  it('filters by tags (AND), company, source, relationship, updatedSince', async () => {
    const d = await directory();
    const a = (await d.create(contact({ tags: ['vip', 'lead'], company: 'Acme Labs', source: 'csv' }))).body;
    const b = (await d.create(contact({ tags: ['vip'], company: 'Globex', source: 'api' }))).body;
    const c = (await d.create(contact({ tags: ['lead'], relationship: 'FRIEND' }))).body;
    expect(await d.ids('?tag=vip&tag=lead')).toEqual([a.id]);
    expect((await d.ids('?tag=vip')).sort()).toEqual([a.id, b.id].sort());
    expect(await d.ids('?company=ACME')).toEqual([a.id]);
    expect(await d.ids('?company=lab')).toEqual([a.id]);
    expect(await d.ids('?source=api')).toEqual([b.id]);
    expect(await d.ids('?relationship=FRIEND')).toEqual([c.id]);
    const since = new Date(Date.parse(c.updatedAt) + 1).toISOString();
    expect(await d.ids(`?updatedSince=${since}`)).toEqual([]);
    await d.patch(b.id, { notes: 'touched' });
    expect(await d.ids(`?updatedSince=${encodeURIComponent(c.updatedAt)}`)).toContain(b.id);
  });

  it('returns the compact format', async () => {
    const d = await directory();
    await d.create(contact({ company: 'Acme', tags: ['x'], phone: '+14155550002' }));
    const [item] = (await d.list('?format=compact')).body.data;
    expect(Object.keys(item!).sort()).toEqual(['company', 'displayName', 'email', 'id', 'phone', 'tags']);
  });

  it('never includes another instance\u2019s rows in lists, search or counts', async () => {
    const d = await directory();
    const sandbox = await directory(d.tenant, 'sandbox');
    const other = await directory();
    await sandbox.create(contact({ firstName: 'Isolde' }));
    await other.create(contact({ firstName: 'Isolde' }));
    const mine = (await d.create(contact({ firstName: 'Isolde' }))).body;
    const res = await d.list('?search=isolde');
    expect(res.body.data.map((c) => c.id)).toEqual([mine.id]);
    expect(res.body.metaInfo.totalElements).toBe(1);
    expect((await d.list()).body.metaInfo.totalElements).toBe(1);
  });
});

describe('search', () => {
  it('matches word prefixes, one typo in a name, emails, company, notes, and phones in any format', async () => {
    const d = await directory();
    const ana = (
      await d.create({
        firstName: 'Ana',
        lastName: 'Fernández',
        email: 'ana.fernandez@acme.example',
        phone: '+1 415-555-0001',
        company: 'Acme Labs',
        notes: 'Prefers mornings',
      })
    ).body;
    const other = (await d.create({ firstName: 'Boris', lastName: 'Petrov', phone: '+14155550999' })).body;
    const cases: Array<[string, string[]]> = [
      ['ana', [ana.id]],
      ['fern', [ana.id]],
      ['fernandez', [ana.id]],
      ['fernadez', [ana.id]],
      ['fermandez', [ana.id]],
      ['ana fern', [ana.id]],
      ['acme', [ana.id]],
      ['mornings', [ana.id]],
      ['ana.fernandez@acme', [ana.id]],
      ['+1 415-555-0001', [ana.id]],
      ['(415) 555-0001', [ana.id]],
      ['4155550001', [ana.id]],
      ['555-0001', [ana.id]],
      ['petrvo', [other.id]],
      ['ptervo', []],
      ['petro', [other.id]],
      ['nobody', []],
      ['!!!', []],
    ];
    for (const [q, expected] of cases) {
      expect(await d.ids(`?search=${encodeURIComponent(q)}`), q).toEqual(expected);
    }
  });

  it('sees a write immediately (read-your-writes)', async () => {
    const d = await directory();
    const c = (await d.create(contact({ firstName: 'Quentin' }))).body;
    expect(await d.ids('?search=quentin')).toEqual([c.id]);
    await d.patch(c.id, { firstName: 'Xavier' });
    expect(await d.ids('?search=quentin')).toEqual([]);
    expect(await d.ids('?search=xavier')).toEqual([c.id]);
    await d.remove(c.id);
    expect(await d.ids('?search=xavier')).toEqual([]);
  });
});

describe('companies and their contacts', () => {
  it('links contacts to a company, fills in its name, keeps one primary, and lists them', async () => {
    const d = await directory();
    const company = await kith.request<{ id: string }>('POST', `/${d.tenant.name}/live/companies`, {
      token: d.token,
      body: { name: 'Initech' },
    });
    expect(company.status, company.text).toBe(201);
    const companyId = company.body.id;
    const a = (await d.create(contact({ companyId, isPrimary: true }))).body;
    const b = (await d.create(contact({ companyId, isPrimary: true }))).body;
    expect(a.company).toBe('Initech');
    expect((await d.get(a.id)).body.isPrimary).toBe(false);
    expect((await d.get(b.id)).body.isPrimary).toBe(true);
    const listPath = `/${d.tenant.name}/live/companies/${companyId}/contacts`;
    const listed = await kith.request<Page>('GET', `${listPath}?skip=1&limit=1`, { token: d.token });
    expect(listed.status).toBe(200);
    expect(listed.body.metaInfo).toMatchObject({ totalElements: 2, numberOfElements: 1, offset: 1 });
    const paged = await kith.request<Page>('GET', `${listPath}?page=0&size=5`, { token: d.token });
    expect(paged.body.data.map((c) => c.id).sort()).toEqual([a.id, b.id].sort());
    expect(await d.ids(`?companyId=${companyId}`)).toHaveLength(2);

    const missing = await d.create(contact({ companyId: '00000000-0000-4000-8000-000000000000' }));
    expect(missing.status).toBe(400);
    expect(fields(missing.body)).toEqual(['companyId']);
    expect(
      (await kith.request('DELETE', `/${d.tenant.name}/live/companies/${companyId}`, { token: d.token }))
        .status,
    ).toBe(204);
    expect((await kith.request('GET', listPath, { token: d.token })).status).toBe(404);
    // Nothing is lost: the contacts stay, still linked.
    expect((await d.get(a.id)).body).toMatchObject({ companyId, company: 'Initech' });
  });
});

describe('atomic writes', () => {
  it('a write that fails leaves nothing behind, not even the primary switch it started', async () => {
    const d = await directory();
    const company = (
      await kith.request<{ id: string }>('POST', `/${d.tenant.name}/live/companies`, {
        token: d.token,
        body: { name: 'Umbrella' },
      })
    ).body;
    const primary = (await d.create(contact({ companyId: company.id, isPrimary: true, externalId: 'x-1' })))
      .body;
    // Clearing the old primary happens first; the duplicate externalId then fails the insert.
    const failed = await d.create(contact({ companyId: company.id, isPrimary: true, externalId: 'x-1' }));
    expect(failed.status).toBe(409);
    expect((await d.get(primary.id)).body).toMatchObject({ isPrimary: true, version: 1 });
    expect(await d.ids()).toEqual([primary.id]);
  });
});

describe('phone region', () => {
  it("reads numbers without a country code in the instance's default region", async () => {
    const tenant = await kith.newTenant({ instances: ['live'] });
    await kith.services.tenants.createInstance(tenant.name, 'london', { phoneRegion: 'GB' });
    const client = await tenant.addClient({ instances: ['london', 'live'] });
    const uk = await kith.request<Contact>('POST', `/${tenant.name}/london/contacts`, {
      token: client.token,
      body: { firstName: 'Ada', phone: '020 7946 0018' },
    });
    expect(uk.status, uk.text).toBe(201);
    expect(uk.body.phone).toBe('+442079460018');
    const us = await kith.request<Contact>('POST', `/${tenant.name}/live/contacts`, {
      token: client.token,
      body: { firstName: 'Ada', phone: '020 7946 0018' },
    });
    expect(us.status).toBe(400);
    const found = await kith.request<Page>(
      'GET',
      `/${tenant.name}/london/contacts?search=${encodeURIComponent('020 7946 0018')}`,
      {
        token: client.token,
      },
    );
    expect(found.body.data.map((c) => c.id)).toEqual([uk.body.id]);
  });
});

describe('idempotency', () => {
  it('replays a retried POST, refuses the key with another body, and creates one row under concurrency', async () => {
    const d = await directory();
    const body = contact({ firstName: 'Idem' });
    const first = await d.create(body, { 'idempotency-key': 'k-1' });
    const retry = await d.create(body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
    const reused = await d.create(contact(), { 'idempotency-key': 'k-1' });
    expect(reused.status).toBe(422);

    const burst = contact({ firstName: 'Burst' });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => d.create(burst, { 'idempotency-key': 'k-burst' })),
    );
    const created = results.filter((r) => r.status === 201);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect((await d.list('?search=burst')).body.metaInfo.totalElements).toBe(1);
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t, i) => `/${t}/${i}/contacts`,
  permission: 'contacts:read',
  instanceScoped: true,
  tenantScoped: true,
});
for (const [method, suffix, permission] of [
  ['POST', '', 'contacts:create'],
  ['GET', '/00000000-0000-4000-8000-000000000000', 'contacts:read'],
  ['PATCH', '/00000000-0000-4000-8000-000000000000', 'contacts:update'],
  ['DELETE', '/00000000-0000-4000-8000-000000000000', 'contacts:delete'],
  ['POST', '/00000000-0000-4000-8000-000000000000/restore', 'contacts:update'],
  ['PATCH', '/00000000-0000-4000-8000-000000000000/custom', 'contacts:update'],
] as const) {
  securitySuite(() => kith, {
    method,
    path: (t, i) => `/${t}/${i}/contacts${suffix}`,
    permission,
    instanceScoped: true,
    tenantScoped: true,
    body: method === 'DELETE' || method === 'GET' ? undefined : { firstName: 'x' },
  });
}
securitySuite(() => kith, {
  method: 'GET',
  path: (t, i) => `/${t}/${i}/companies/00000000-0000-4000-8000-000000000000/contacts`,
  permission: 'contacts:read',
  instanceScoped: true,
  tenantScoped: true,
});
