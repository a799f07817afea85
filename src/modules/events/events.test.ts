import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith, type TestTenant } from '../../../test/harness.ts';
import { contact, patient } from '../../../test/factories.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Event } from './events.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type Feed = { data: Event[]; nextCursor: string; hasMore: boolean };

async function setup(tenant?: TestTenant) {
  const t = tenant ?? (await kith.newTenant());
  const token = await t.token();
  const root = `/${t.name}/live`;
  const call = <T>(method: string, path: string, body?: unknown) =>
    kith.request<T>(method, `${root}${path}`, { token, body });
  return {
    tenant: t,
    token,
    root,
    call,
    feed: (query = '') => call<Feed>('GET', `/changes${query}`),
    types: async (query = '') => (await call<Feed>('GET', `/changes${query}`)).body.data.map((e) => e.type),
  };
}

describe('events', () => {
  it('every change writes exactly one event, in order, with the resource after the change', async () => {
    const s = await setup();
    const c = (await s.call<{ id: string }>('POST', '/contacts', contact())).body;
    await s.call('PATCH', `/contacts/${c.id}`, { notes: 'x' });
    await s.call('PATCH', `/contacts/${c.id}/custom`, { a: 1 });
    await s.call('DELETE', `/contacts/${c.id}`);
    await s.call('POST', `/contacts/${c.id}/restore`);
    await s.call('DELETE', `/contacts/${c.id}?permanent=true`);
    const feed = await s.feed();
    expect(feed.status).toBe(200);
    expect(feed.body.data.map((e) => e.type)).toEqual([
      'contact.created',
      'contact.updated',
      'contact.updated',
      'contact.deleted',
      'contact.restored',
      'contact.deleted',
    ]);
    expect(feed.body.data.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    const [created, updated, , softDeleted, , purged] = feed.body.data;
    expect(created).toMatchObject({
      tenant: s.tenant.name,
      instance: 'live',
      resourceType: 'contact',
      resourceId: c.id,
    });
    expect(created!.actor.name).toMatch(/^API_CLIENT:/);
    expect(created!.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(updated!.data).toMatchObject({ id: c.id, notes: 'x', version: 2 });
    expect(softDeleted!.data).toMatchObject({ id: c.id, deleted: true, permanent: false });
    expect(purged!.data).toMatchObject({ id: c.id, deleted: true, permanent: true });
  });

  it('a primary switch writes one event per contact it changed; a rolled-back write writes none', async () => {
    const s = await setup();
    const pid = (await s.call<{ id: string }>('POST', '/patients', patient())).body.id;
    const body = {
      firstName: 'A',
      lastName: 'B',
      relationship: 'SPOUSE',
      isPrimary: true,
      externalId: 'e-1',
    };
    await s.call('POST', `/patients/${pid}/contacts`, body);
    const before = await s.types();
    await s.call('POST', `/patients/${pid}/contacts`, { ...body, firstName: 'C', externalId: 'e-2' });
    expect((await s.types()).slice(before.length)).toEqual(['contact.updated', 'contact.created']);
    const failed = await s.call('POST', `/patients/${pid}/contacts`, { ...body, externalId: 'e-1' });
    expect(failed.status).toBe(409);
    expect(await s.types()).toHaveLength(before.length + 2);
    await s.call('DELETE', `/patients/${pid}`);
    expect((await s.types()).slice(before.length + 2).sort()).toEqual([
      'contact.deleted',
      'contact.deleted',
      'patient.deleted',
    ]);
  });

  it('pages with a stored cursor, filters by type, and never shows another instance', async () => {
    const s = await setup();
    const sandboxToken = await s.tenant.token();
    await kith.request('POST', `/${s.tenant.name}/sandbox/contacts`, {
      token: sandboxToken,
      body: contact(),
    });
    for (let i = 0; i < 5; i++) await s.call('POST', '/contacts', contact());
    const first = await s.feed('?limit=2');
    expect(first.body.data).toHaveLength(2);
    expect(first.body.hasMore).toBe(true);
    const rest = await s.feed(`?since=${first.body.nextCursor}&limit=10`);
    expect(rest.body.data.map((e) => e.sequence)).toEqual([3, 4, 5]);
    expect(rest.body.hasMore).toBe(false);
    const idle = await s.feed(`?since=${rest.body.nextCursor}`);
    expect(idle.body.data).toEqual([]);
    expect(idle.body.nextCursor).toBe(rest.body.nextCursor);
    await s.call('POST', '/companies', { name: 'Acme' });
    expect(await s.types(`?since=${rest.body.nextCursor}`)).toEqual(['company.created']);
    expect(await s.types(`?since=${rest.body.nextCursor}&types=contact.created`)).toEqual([]);
    expect((await s.feed('?since=garbage')).status).toBe(400);
  });

  it('shows only the resources the client may read', async () => {
    const s = await setup();
    await s.call('POST', '/contacts', contact());
    await s.call('POST', '/companies', { name: 'Acme' });
    const reader = await s.tenant.addClient({
      policy: { name: 'contact-reader', grants: [{ resource: 'contacts', actions: ['read'] }] },
    });
    const feed = await kith.request<Feed>('GET', `${s.root}/changes`, { token: reader.token });
    expect(feed.body.data.map((e) => e.type)).toEqual(['contact.created']);
    const asked = await kith.request('GET', `${s.root}/changes?types=company.created`, {
      token: reader.token,
    });
    expect(asked.status).toBe(403);
    const none = await s.tenant.addClient({ policy: { name: 'nothing', grants: [] } });
    expect((await kith.request('GET', `${s.root}/changes`, { token: none.token })).status).toBe(403);
  });

  it('expires events after the retention period; an older cursor answers 410 CURSOR_EXPIRED', async () => {
    // The first change is made 31 days ago rather than the clock moved 31 days on: retention runs across every
    // instance, and other test files share the PostgreSQL database; only this test's event is that old.
    kith.clock.advance(-31 * 86_400_000);
    let s: Awaited<ReturnType<typeof setup>>;
    let cursor: string;
    let start: Awaited<ReturnType<typeof s.feed>>['body'];
    try {
      s = await setup();
      await s.call('POST', '/contacts', contact());
      cursor = (await s.feed()).body.nextCursor;
      start = (await s.feed()).body;
    } finally {
      kith.clock.reset();
    }
    await kith.services.events.purgeExpired();
    // The old token expired long ago; a fresh one reads on.
    Object.assign(s, await setup(s.tenant));
    await s.call('POST', '/contacts', contact());
    const expired = await s.feed('?since=' + Buffer.from('seq:0').toString('base64url'));
    expect(expired.status).toBe(410);
    expect((expired.body as unknown as Array<{ errorCode: string }>)[0]!.errorCode).toBe('CURSOR_EXPIRED');
    const resumed = await s.feed(`?since=${cursor}`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.data.map((e) => e.sequence)).toEqual([2]);
    expect((await s.feed()).body.data.map((e) => e.sequence)).toEqual([2]);
    expect(start.data).toHaveLength(1);
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t, i) => `/${t}/${i}/changes`,
  permission: 'authenticated',
  instanceScoped: true,
  tenantScoped: true,
});
