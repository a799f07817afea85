import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { contact, patient } from '../../../test/factories.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { WriteTx } from '../../platform/writes.ts';
import { USER_AGENT, workspace } from './audit.fixtures.ts';

let kith: Kith;
/** Writes of this tenant fail after every recorder has written its rows (see the rollback test). */
let failWritesOf: string | undefined;
beforeAll(async () => {
  kith = await startKith();
  kith.services.writes.recordWith(async (tx: WriteTx) => {
    if (tx.ctx.scope.tenant === failWritesOf) throw new Error('fails after the audit row was written');
  });
});
afterAll(async () => kith.close());

const secret = (label: string) => `${label}${randomBytes(6).toString('hex')}`;

describe('audit: changes', () => {
  it('writes exactly one row per change, saying who, what, when and from where', async () => {
    const s = await workspace(kith);
    const c = (await s.call('POST', '/contacts', { body: contact() })).body;
    await s.call('PATCH', `/contacts/${c.id}`, { body: { notes: 'x' } });
    await s.call('PATCH', `/contacts/${c.id}/custom`, { body: { a: 1 } });
    await s.call('DELETE', `/contacts/${c.id}`);
    await s.call('POST', `/contacts/${c.id}/restore`);
    const purge = await s.call('DELETE', `/contacts/${c.id}?permanent=true`);
    const rows = await s.history(`?resourceId=${c.id}`);
    expect(rows.map((r) => [r.action, r.method, r.route])).toEqual([
      ['created', 'POST', '/:tenant/:instance/contacts'],
      ['updated', 'PATCH', '/:tenant/:instance/contacts/:id'],
      ['updated', 'PATCH', '/:tenant/:instance/contacts/:id/custom'],
      ['deleted', 'DELETE', '/:tenant/:instance/contacts/:id'],
      ['restored', 'POST', '/:tenant/:instance/contacts/:id/restore'],
      ['purged', 'DELETE', '/:tenant/:instance/contacts/:id'],
    ]);
    expect(rows[0]).toMatchObject({
      eventId: expect.stringMatching(/^aud_[0-9a-f]{32}$/) as unknown,
      eventEntity: 'CONTACT',
      eventSubtype: 'CONTACT_CREATED',
      resourceType: 'contact',
      resourceId: c.id,
      subjectActor: 'API_CLIENT',
      subjectFullName: `API_CLIENT:${s.tenant.client.apiClient}`,
      instance: 'live',
      outcome: 'SUCCESS',
      status: null,
      ip: '127.0.0.1',
      userAgent: USER_AGENT,
      query: null,
    });
    expect(rows.at(-1)!.requestId).toBe(purge.headers.get('x-request-id'));
    expect(new Set(rows.map((r) => r.subjectUserId)).size).toBe(1);
  });

  it('records patient and company changes, a primary switch, and a cascade, one row per change', async () => {
    const s = await workspace(kith);
    const pid = (await s.call('POST', '/patients', { body: patient() })).body.id;
    const first = { firstName: 'A', lastName: 'B', relationship: 'SPOUSE', isPrimary: true };
    await s.call('POST', `/patients/${pid}/contacts`, { body: first });
    await s.call('POST', `/patients/${pid}/contacts`, { body: { ...first, firstName: 'C' } });
    await s.call('DELETE', `/patients/${pid}`);
    const company = (await s.call('POST', '/companies', { body: { name: 'Acme' } })).body.id;
    await s.call('PATCH', `/companies/${company}`, { body: { name: 'Acme 2' } });
    await s.call('DELETE', `/companies/${company}`);
    await s.call('POST', `/companies/${company}/restore`);

    const actions = async (type: string) =>
      (await s.history(`?resourceType=${type}`)).filter((r) => r.status === null).map((r) => r.action);
    expect(await actions('patient')).toEqual(['created', 'deleted']);
    // The switch demotes the first primary (updated) before adding the second; the patient's delete takes both.
    expect(await actions('contact')).toEqual(['created', 'updated', 'created', 'deleted', 'deleted']);
    expect(await actions('company')).toEqual(['created', 'updated', 'deleted', 'restored']);
  });

  it('a write that rolls back leaves no row and no gap in the chain', async () => {
    const s = await workspace(kith);
    await s.call('POST', '/contacts', { body: contact() });
    failWritesOf = s.tenant.name;
    try {
      expect((await s.call('POST', '/contacts', { body: contact() })).status).toBe(500);
    } finally {
      failWritesOf = undefined;
    }
    const pid = (await s.call('POST', '/patients', { body: patient() })).body.id;
    const body = { firstName: 'A', lastName: 'B', relationship: 'SPOUSE', externalId: 'e-1' };
    await s.call('POST', `/patients/${pid}/contacts`, { body });
    expect((await s.call('POST', `/patients/${pid}/contacts`, { body })).status).toBe(409);
    await s.call('POST', '/contacts', { body: contact() });

    expect((await s.history('?resourceType=contact')).map((r) => r.action)).toEqual([
      'created',
      'created',
      'created',
    ]);
    const [report] = await kith.services.audit.verify({ tenantId: await s.tenantId() });
    expect(report).toMatchObject({ ok: true, problem: null });
    expect(report!.rows).toBe(report!.head.seq);
  });
});

describe('audit: reads and lists', () => {
  it('records each read with the id it returned and each list with its query and count, free text redacted', async () => {
    const s = await workspace(kith);
    const lastName = secret('Zed');
    const mrn = secret('MRN');
    const pid = (await s.call('POST', '/patients', { body: patient({ lastName, mrn }) })).body.id;
    const spouse = { firstName: 'Kim', lastName: 'Lee', relationship: 'SPOUSE' };
    const cid = (await s.call('POST', `/patients/${pid}/contacts`, { body: spouse })).body.id;
    await s.call('GET', `/patients/${pid}`);
    await s.call('GET', `/patients/${mrn}?type=MRN`);
    await s.call('GET', `/patients/${pid}/contacts/${cid}`);
    await s.call('GET', `/contacts?search=${lastName}&size=5&sort=lastName`);
    await s.call('POST', '/by-filter/patients?size=10', { body: { lastName } });
    await s.call('GET', `/patients/${pid}/contacts`);

    const reads = await s.history('?action=read');
    expect(reads.map((r) => [r.eventSubtype, r.resourceId, r.query, r.status])).toEqual([
      ['PATIENT_READ', pid, { type: 'ID' }, 200],
      // Looked up by MRN: the row names the patient's id, never the MRN.
      ['PATIENT_READ', pid, { type: 'MRN' }, 200],
      ['CONTACT_READ', cid, null, 200],
    ]);
    const lists = await s.history('?action=listed&resourceType=contact');
    expect(lists.map((r) => [r.route, r.query, r.resultCount, r.resultTotal])).toEqual([
      ['/:tenant/:instance/contacts', { search: '[redacted]', size: 5, sort: 'lastName' }, 0, 0],
      ['/:tenant/:instance/patients/:patientId/contacts', { patientId: pid, page: 0, size: 20 }, 1, 1],
    ]);
    const [byFilter] = await s.history('?action=listed&resourceType=patient');
    expect(byFilter).toMatchObject({
      method: 'POST',
      query: { page: 0, size: 10, body: { lastName: '[redacted]' } },
      resultCount: 1,
      resultTotal: 1,
    });
    // The change feed carries the records' contents too.
    await s.call('GET', '/changes?limit=2');
    // The row is queued when the response has gone out, which the client can see a moment before.
    await vi.waitFor(async () => {
      const [feed] = await s.history('?action=listed&resourceType=event');
      expect(feed).toMatchObject({
        route: '/:tenant/:instance/changes',
        query: { limit: 2 },
        resultCount: 2,
      });
    });
  });

  it('appends buffered rows by itself within moments', async () => {
    const s = await workspace(kith);
    const c = (await s.call('POST', '/contacts', { body: contact() })).body;
    await s.call('GET', `/contacts/${c.id}`);
    const deadline = Date.now() + 5000;
    let found = 0;
    while (found === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const res = await kith.request<{ data: unknown[] }>(
        'GET',
        `/${s.tenant.name}/admin/audit-data?action=read`,
        { token: s.token },
      );
      found = res.body.data.length;
    }
    expect(found).toBe(1);
  });

  it('never stores what a record holds', async () => {
    const s = await workspace(kith);
    const values = [secret('First'), secret('Last'), `${secret('mail')}@example.com`, secret('Note')];
    const [firstName, lastName, email, notes] = values as [string, string, string, string];
    const pid = (await s.call('POST', '/patients', { body: patient({ firstName, lastName }) })).body.id;
    const created = await s.call('POST', '/contacts', {
      body: contact({
        firstName,
        lastName,
        notes,
        emails: [{ address: email, label: 'work' }],
        patientId: pid,
        relationship: 'SPOUSE',
      }),
    });
    expect(created.status, created.text).toBe(201);
    const c = created.body;
    await s.call('PATCH', `/contacts/${c.id}`, { body: { notes: `${notes} again` } });
    await s.call('PATCH', `/contacts/${c.id}/custom`, { body: { diagnosis: notes } });
    await s.call('GET', `/contacts/${c.id}`);
    await s.call('GET', `/contacts?search=${lastName}&company=${notes}`);
    await s.call('POST', '/by-filter/patients', { body: { firstName, unknownKey: notes } });
    await s.call('GET', `/patients/${pid}`);
    await s.audit();
    const rows = await kith.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('chain', '=', await s.tenantId())
      .execute();
    expect(rows.length).toBeGreaterThanOrEqual(8);
    const stored = JSON.stringify(rows);
    for (const value of values) expect(stored).not.toContain(value);
  });
});

describe('audit: refused requests', () => {
  it('records 401, 403 and 404 for another tenant’s id, on the right tenant, and nothing for an unknown route', async () => {
    const s = await workspace(kith);
    const other = await workspace(kith);
    const theirs = (await other.call('POST', '/contacts', { body: contact() })).body.id;
    const noContacts = await s.tenant.addClient({
      policy: { name: 'no-contacts', grants: [{ resource: 'patients', actions: ['read'] }] },
    });

    expect((await kith.request('GET', `${s.root}/contacts`)).status).toBe(401);
    expect((await kith.request('GET', `${s.root}/contacts`, { token: noContacts.token })).status).toBe(403);
    const elsewhere = `/${other.tenant.name}/live/contacts`;
    expect((await kith.request('GET', elsewhere, { token: s.token })).status).toBe(403);
    expect((await s.call('GET', `/contacts/${theirs}`)).status).toBe(404);
    expect((await s.call('PATCH', `/contacts/${theirs}`, { body: { notes: 'x' } })).status).toBe(404);
    expect((await s.call('GET', '/no/such/route')).status).toBe(404);

    const denied = await s.history('?action=denied');
    expect(denied.map((r) => [r.status, r.outcome, r.subjectActor, r.method, r.instance])).toEqual([
      [401, 'DENIED', 'ANONYMOUS', 'GET', 'live'],
      [403, 'DENIED', 'API_CLIENT', 'GET', 'live'],
      // Refused on another tenant's path: recorded for the caller's tenant, naming none of the other's.
      [403, 'DENIED', 'API_CLIENT', 'GET', null],
      [404, 'NOT_FOUND', 'API_CLIENT', 'GET', 'live'],
      [404, 'NOT_FOUND', 'API_CLIENT', 'PATCH', 'live'],
    ]);
    expect(denied[0]).toMatchObject({ subjectUserId: null, eventSubtype: 'CONTACT_DENIED' });
    expect(denied[1]!.subjectFullName).toBe(`API_CLIENT:${noContacts.apiClient}`);
    expect(denied.slice(3).map((r) => r.resourceId)).toEqual([theirs, theirs]);
    expect((await other.audit('?action=denied')).data).toEqual([]);
  });
});

describe('GET /{t}/admin/audit-data', () => {
  it('filters by instance, actor, resource, action and time, and pages newest first', async () => {
    const s = await workspace(kith);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await s.call('POST', '/contacts', { body: contact() })).body.id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const sandbox = await kith.request<{ id: string }>('POST', `/${s.tenant.name}/sandbox/contacts`, {
      token: s.token,
      body: contact(),
    });
    const second = await s.tenant.addClient({});
    await kith.request('POST', `${s.root}/contacts`, { token: second.token, body: contact() });

    const created = '?resourceType=contact&action=created';
    expect((await s.audit(created)).metaInfo.totalElements).toBe(5);
    expect((await s.audit(`${created}&instance=sandbox`)).data.map((r) => r.resourceId)).toEqual([
      sandbox.body.id,
    ]);
    expect((await s.audit(`${created}&dateEnd=${between}`)).data.map((r) => r.resourceId)).toEqual(
      [...ids].reverse(),
    );
    expect((await s.audit(`${created}&dateStart=${between}`)).metaInfo.totalElements).toBe(2);
    const byName = await s.audit(`${created}&actor=API_CLIENT:${second.apiClient}`);
    expect(byName.data).toHaveLength(1);
    const byId = await s.audit(`${created}&actor=${byName.data[0]!.subjectUserId}`);
    expect(byId.data.map((r) => r.eventId)).toEqual(byName.data.map((r) => r.eventId));
    expect((await s.audit(`?resourceType=contact&resourceId=${ids[1]}`)).data).toHaveLength(1);

    const first = await s.audit(`${created}&size=3`);
    const last = await s.audit(`${created}&size=3&page=1`);
    expect(first.metaInfo).toEqual({
      page: 0,
      pageSize: 3,
      totalElements: 5,
      numberOfElements: 3,
      totalPages: 2,
      firstPage: true,
      lastPage: false,
    });
    expect(last.metaInfo).toMatchObject({ page: 1, numberOfElements: 2, lastPage: true });
    const times = [...first.data, ...last.data].map((r) => r.sentAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set([...first.data, ...last.data].map((r) => r.eventId)).size).toBe(5);

    for (const bad of ['?size=101', '?action=nope', '?dateStart=yesterday', '?instance=Bad_Name']) {
      expect(
        (await kith.request('GET', `/${s.tenant.name}/admin/audit-data${bad}`, { token: s.token })).status,
      ).toBe(400);
    }
  });

  it('shows a client only the rows of its own instances, and records that the log was read', async () => {
    const s = await workspace(kith);
    await s.call('POST', '/contacts', { body: contact() });
    const sandboxOnly = await s.tenant.addClient({ instances: ['sandbox'] });
    await kith.request('POST', `/${s.tenant.name}/sandbox/contacts`, {
      token: sandboxOnly.token,
      body: contact(),
    });
    const seen = await s.audit('?resourceType=contact', sandboxOnly.token);
    expect(seen.data.map((r) => r.instance)).toEqual(['sandbox']);
    const refused = await kith.request('GET', `/${s.tenant.name}/admin/audit-data?instance=live`, {
      token: sandboxOnly.token,
    });
    expect(refused.status).toBe(403);
    const reads = await s.history('?resourceType=audit&action=listed');
    expect(reads[0]).toMatchObject({ eventSubtype: 'AUDIT_LISTED', query: { resourceType: 'contact' } });
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t) => `/${t}/admin/audit-data`,
  permission: 'audit:read',
  instanceScoped: false,
  tenantScoped: true,
});
