import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith, type TestTenant } from '../../../test/harness.ts';
import { contact, patient } from '../../../test/factories.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Event } from '../events/events.schemas.ts';
import { settle, StreamClient, type Refusal } from './realtime.testing.ts';

let kith: Kith;
beforeAll(async () => {
  // A small send buffer cap, so the slow-consumer test needs little data; other clients read promptly.
  kith = await startKith({ wsMaxBufferedBytes: 16 * 1024 });
});
afterAll(async () => kith.close());

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
    stream: (tok = token, path = `${root}/events/ws`) => StreamClient.open(kith, path, tok),
    create: async (overrides: Record<string, unknown> = {}) => {
      const res = await call<{ id: string }>('POST', '/contacts', contact(overrides));
      if (res.status !== 201) throw new Error(`creating a contact failed: ${res.status} ${res.text}`);
      return res.body.id;
    },
    feed: async () => (await call<{ data: Event[] }>('GET', '/changes?limit=1000')).body.data,
  };
}

/**
 * What retention does to the instance's first event, for this instance only: purgeExpired works across every
 * instance, and would reach the other test files sharing the PostgreSQL database.
 */
async function expireFirstEvent(tenant: string): Promise<void> {
  const { db } = kith.database;
  const { id } = await db
    .selectFrom('instances')
    .innerJoin('tenants', 'tenants.id', 'instances.tenant_id')
    .select('instances.id')
    .where('tenants.name', '=', tenant)
    .where('instances.name', '=', 'live')
    .executeTakeFirstOrThrow();
  await db.deleteFrom('events').where('instance_id', '=', id).where('seq', '<=', 1).execute();
  await db.updateTable('event_sequences').set({ purged_through: 1 }).where('instance_id', '=', id).execute();
}

describe('realtime stream', () => {
  it('streams every committed change of the instance, in sequence order, exactly as the change feed shows it', async () => {
    const s = await setup();
    const ws = await s.stream();
    expect(await ws.subscribe({ id: 'all' })).toMatchObject({ type: 'subscribed', sequence: 0 });
    const id = await s.create();
    await s.call('PATCH', `/contacts/${id}`, { notes: 'x' });
    await s.call('DELETE', `/contacts/${id}`);
    await s.call('POST', `/contacts/${id}/restore`);
    await s.call('DELETE', `/contacts/${id}?permanent=true`);
    const events = await ws.eventsUntil(5, 'all');
    expect(events.map((e) => e.type)).toEqual([
      'contact.created',
      'contact.updated',
      'contact.deleted',
      'contact.restored',
      'contact.deleted',
    ]);
    expect(events).toEqual(await s.feed());
    await settle();
    expect(ws.events()).toHaveLength(5);
    ws.close();
  });

  it('never sends another instance’s or another tenant’s events', async () => {
    const s = await setup();
    const other = await setup();
    const ws = await s.stream();
    await ws.subscribe({ id: 'all' });
    await kith.request('POST', `/${s.tenant.name}/sandbox/contacts`, { token: s.token, body: contact() });
    await other.create();
    const mine = await s.create();
    const [only] = await ws.eventsUntil(1);
    await settle();
    expect(ws.events()).toHaveLength(1);
    expect(only).toMatchObject({ tenant: s.tenant.name, instance: 'live', resourceId: mine });
    const crossTenant = (await StreamClient.connect(kith, `${s.root}/events/ws`, other.token)) as Refusal;
    expect(crossTenant.status).toBe(403);
    ws.close();
  });

  it('filters by event type and by resource id, one ordered stream per subscription', async () => {
    const s = await setup();
    const first = await s.create();
    const ws = await s.stream();
    await ws.subscribe({ id: 'updates', types: ['contact.updated'] });
    await ws.subscribe({ id: 'first', resourceIds: [first] });
    const second = await s.create();
    await s.call('PATCH', `/contacts/${second}`, { notes: 'a' });
    await s.call('PATCH', `/contacts/${first}`, { notes: 'b' });
    await s.call('DELETE', `/contacts/${first}`);
    const updates = await ws.eventsUntil(2, 'updates');
    expect(updates.map((e) => e.resourceId)).toEqual([second, first]);
    const firsts = await ws.eventsUntil(2, 'first');
    expect(firsts.map((e) => e.type)).toEqual(['contact.updated', 'contact.deleted']);
    await ws.subscribe({ id: 'updates', types: ['contact.deleted'] });
    ws.send({ type: 'unsubscribe', id: 'first' });
    await ws.next((m) => m.type === 'unsubscribed');
    await s.call('DELETE', `/contacts/${second}`);
    const deleted = await ws.eventsUntil(3, 'updates');
    expect(deleted.at(-1)).toMatchObject({ type: 'contact.deleted', resourceId: second });
    await settle();
    expect(ws.events('first')).toHaveLength(2);
    ws.close();
  });

  it('sends only what the client’s policy lets it read, and refuses what it may not', async () => {
    const s = await setup();
    const reader = await s.tenant.addClient({
      policy: { name: 'contact-reader', grants: [{ resource: 'contacts', actions: ['read'] }] },
    });
    const ws = await s.stream(reader.token);
    expect(await ws.subscribe({ id: 'all' })).toMatchObject({
      types: ['contact.created', 'contact.updated', 'contact.deleted', 'contact.restored'],
    });
    const refused = await ws.subscribe({ id: 'companies', types: ['company.created'] });
    expect(refused).toMatchObject({
      type: 'error',
      errors: [{ errorCode: 'ACCESS_FOR_API_CLIENT_RESTRICTED' }],
    });
    await s.call('POST', '/companies', { name: 'Acme' });
    await s.call('POST', '/patients', patient());
    await s.create();
    expect((await ws.eventsUntil(1)).map((e) => e.type)).toEqual(['contact.created']);
    await settle();
    expect(ws.events()).toHaveLength(1);
    const none = await s.tenant.addClient({ policy: { name: 'nothing', grants: [] } });
    const refusal = (await StreamClient.connect(kith, `${s.root}/events/ws`, none.token)) as Refusal;
    expect(refusal.status).toBe(403);
    ws.close();
  });

  it('resumes after lastEventId (an id or a sequence number) without gap or duplicate while writes go on', async () => {
    const s = await setup();
    for (let i = 0; i < 5; i++) await s.create();
    const [, second] = await s.feed();
    const ws = await s.stream();
    const writing = (async () => {
      for (let i = 0; i < 20; i++) await s.create();
    })();
    expect(await ws.subscribe({ id: 'by-id', lastEventId: second!.id })).toMatchObject({ sequence: 2 });
    expect(await ws.subscribe({ id: 'by-seq', lastEventId: 4 })).toMatchObject({ sequence: 4 });
    await writing;
    const sequences = (count: number, from: number) => Array.from({ length: count }, (_, i) => from + i);
    expect((await ws.eventsUntil(23, 'by-id')).map((e) => e.sequence)).toEqual(sequences(23, 3));
    expect((await ws.eventsUntil(21, 'by-seq')).map((e) => e.sequence)).toEqual(sequences(21, 5));
    expect(await ws.next((m) => m.type === 'live' && m.subscription === 'by-id')).toHaveProperty('sequence');
    await s.create();
    expect((await ws.eventsUntil(24, 'by-id')).at(-1)!.sequence).toBe(26);
    await settle();
    expect(ws.events('by-id')).toHaveLength(24);
    ws.close();
  });

  it('answers an unknown or expired lastEventId with CURSOR_EXPIRED, and one from the future with a 400', async () => {
    const s = await setup();
    await s.create();
    await s.create();
    await expireFirstEvent(s.tenant.name);
    const ws = await s.stream();
    const expired = await ws.subscribe({ id: 'a', lastEventId: 0 });
    expect(expired).toMatchObject({ type: 'error', errors: [{ errorCode: 'CURSOR_EXPIRED' }] });
    const unknown = await ws.subscribe({ id: 'b', lastEventId: `evt_${'0'.repeat(32)}` });
    expect(unknown).toMatchObject({ type: 'error', errors: [{ errorCode: 'CURSOR_EXPIRED' }] });
    const future = await ws.subscribe({ id: 'c', lastEventId: 99 });
    expect(future).toMatchObject({ type: 'error', errors: [{ errorCode: 'VALIDATION_ERROR' }] });
    expect(await ws.subscribe({ id: 'd', lastEventId: 1 })).toMatchObject({
      type: 'subscribed',
      sequence: 1,
    });
    expect((await ws.eventsUntil(1, 'd')).map((e) => e.sequence)).toEqual([2]);
    ws.close();
  });

  it('a rolled-back write sends nothing', async () => {
    const s = await setup();
    const pid = (await s.call<{ id: string }>('POST', '/patients', patient())).body.id;
    const ws = await s.stream();
    await ws.subscribe({ id: 'all' });
    const body = {
      firstName: 'A',
      lastName: 'B',
      relationship: 'SPOUSE',
      isPrimary: true,
      externalId: 'x-1',
    };
    await s.call('POST', `/patients/${pid}/contacts`, body);
    const last = (await s.feed()).at(-1)!.sequence;
    await ws.next((m) => m.event?.sequence === last);
    // The same externalId again: whatever it changed before the conflict is rolled back with the 409.
    expect((await s.call('POST', `/patients/${pid}/contacts`, body)).status).toBe(409);
    const id = await s.create();
    const next = await ws.next((m) => m.event?.resourceId === id);
    expect(next.event!.sequence).toBe(last + 1);
    const sequences = ws.events().map((e) => e.sequence);
    expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => sequences[0]! + i));
    expect(sequences.at(-1)).toBe(last + 1);
    ws.close();
  });

  it('authenticates a browser by its first message, and closes on a bad or foreign token', async () => {
    const s = await setup();
    const path = `${s.root}/events/ws`;
    const ws = await StreamClient.open(kith, path, undefined, s.token);
    await ws.subscribe({ id: 'all' });
    await s.create();
    expect(await ws.eventsUntil(1)).toHaveLength(1);
    ws.close();

    const forged = (await StreamClient.connect(kith, path)) as StreamClient;
    forged.send({ type: 'auth', token: 'a.b.c' });
    expect(await forged.closed).toEqual({ code: 4401, reason: 'NOT_VALID_JSON_WEB_TOKEN' });
    expect(forged.received[0]).toMatchObject({
      type: 'error',
      errors: [{ errorCode: 'NOT_VALID_JSON_WEB_TOKEN' }],
    });

    const other = await setup();
    const foreign = (await StreamClient.connect(kith, path)) as StreamClient;
    foreign.send({ type: 'auth', token: other.token });
    expect(await foreign.closed).toEqual({ code: 4403, reason: 'ACCESS_FOR_API_CLIENT_RESTRICTED' });

    const rude = (await StreamClient.connect(kith, path)) as StreamClient;
    rude.send({ type: 'subscribe', id: 'x' });
    expect((await rude.closed).code).toBe(4401);
  });

  it('audits each stream opened, like a list, and each token the stream refused', async () => {
    const s = await setup();
    const path = `${s.root}/events/ws`;
    const byHeader = await StreamClient.open(kith, path, s.token);
    const byMessage = await StreamClient.open(kith, path, undefined, s.token);
    const forged = (await StreamClient.connect(kith, path)) as StreamClient;
    forged.send({ type: 'auth', token: 'a.b.c' });
    await forged.closed;
    byHeader.close();
    byMessage.close();
    await kith.services.audit.flush();
    const audit = await kith.request<{ data: Array<Record<string, unknown>> }>(
      'GET',
      `/${s.tenant.name}/admin/audit-data?resourceType=event&size=100`,
      { token: s.token },
    );
    const rows = audit.body.data.map((r) => [r.action, r.subjectActor, r.status, r.instance, r.route]);
    expect(rows.sort()).toEqual(
      [
        ['denied', 'ANONYMOUS', 401, 'live', '/:tenant/:instance/events/ws'],
        ['listed', 'API_CLIENT', 101, 'live', '/:tenant/:instance/events/ws'],
        ['listed', 'API_CLIENT', 101, 'live', '/:tenant/:instance/events/ws'],
      ].sort(),
    );
  });

  it('refuses an upgrade with a bad token as HTTP does, and a plain GET with 426', async () => {
    const s = await setup();
    const path = `${s.root}/events/ws`;
    const refusal = (await StreamClient.connect(kith, path, 'x.y.z')) as Refusal;
    expect(refusal.status).toBe(401);
    expect(refusal.body).toMatchObject([{ errorCode: 'NOT_VALID_JSON_WEB_TOKEN' }]);
    const plain = await kith.request('GET', path, { token: s.token });
    expect(plain.status).toBe(426);
    expect(plain.headers.get('upgrade')).toBe('websocket');
    expect(plain.body).toMatchObject([{ errorCode: 'UPGRADE_REQUIRED' }]);
  });

  it('answers a malformed message with an error and keeps the stream', async () => {
    const s = await setup();
    const ws = await s.stream();
    ws.send('not json');
    expect(await ws.next((m) => m.type === 'error')).toMatchObject({
      errors: [{ errorCode: 'MALFORMED_REQUEST' }],
    });
    const from = ws.received.length;
    ws.send({ type: 'subscribe', id: 'a', types: ['contact.exploded'] });
    const invalid = await ws.next((m) => m.type === 'error', from);
    expect(invalid).toMatchObject({ errors: [{ errorCode: 'VALIDATION_ERROR' }] });
    ws.send({ type: 'ping' });
    await ws.next((m) => m.type === 'pong');
    ws.close();
  });

  it('disconnects a consumer that stops reading instead of buffering for it', async () => {
    const s = await setup();
    const ws = await s.stream();
    for (let i = 0; i < 20; i++) await ws.subscribe({ id: `s${i}` });
    ws.socket.pause();
    // About 26 KB per event, sent once per subscription: far past what the TCP buffers hold.
    const customFields = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, 'x'.repeat(1900)]));
    for (let i = 0; i < 60; i++) await s.create({ notes: 'lorem ipsum '.repeat(800), customFields });
    ws.socket.resume();
    const closed = await ws.closed;
    expect(closed.code).toBe(4008);
    expect(ws.events().length).toBeLessThan(60 * 20);
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t, i) => `/${t}/${i}/events/ws`,
  permission: 'authenticated',
  instanceScoped: true,
  tenantScoped: true,
});
