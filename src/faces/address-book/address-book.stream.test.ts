// The face's WebSocket events: contact.created, .updated, .deleted, .restored from the realtime stream, with the
// contact in the face's field names, at `/api/v1/events/ws` and `/{tenant}/{instance}/api/v1/events/ws`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { patient } from '../../../test/factories.ts';
import { settle, StreamClient, type Refusal } from '../../modules/realtime/realtime.testing.ts';
import type { ErrorBody } from './address-book.schemas.ts';
import { addressBook, ANA } from './address-book.testing.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const CONTACT_TYPES = ['contact.created', 'contact.updated', 'contact.deleted', 'contact.restored'];

describe('the address book’s event stream', () => {
  it('sends contact.created with the seed’s payload, then .updated, .deleted and .restored, in face names', async () => {
    const book = await addressBook(kith);
    const ws = await StreamClient.open(kith, '/api/v1/events/ws', book.token);
    expect(await ws.subscribe({ id: 'book' })).toMatchObject({ type: 'subscribed', types: CONTACT_TYPES });
    const created = await book.add(ANA);
    const updated = (await book.patch(created.id, { job_title: 'CEO' })).body.data;
    const custom = (await book.custom(created.id, { met: 'summit' })).body.data;
    await book.remove(created.id);
    const restored = (await book.restore(created.id)).body.data;
    await book.remove(created.id, '?permanent=true');
    const events = await ws.eventsUntil(6);
    expect(events.map((e) => e.type)).toEqual([
      'contact.created',
      'contact.updated',
      'contact.updated',
      'contact.deleted',
      'contact.restored',
      'contact.deleted',
    ]);
    expect(events[0]!.data).toMatchObject(ANA);
    expect(events.map((e) => e.data).slice(0, 3)).toEqual([created, updated, custom]);
    expect(events[3]!.data).toEqual({
      id: created.id,
      deleted: true,
      permanent: false,
      deleted_at: expect.any(String) as unknown,
    });
    expect(events[4]!.data).toEqual(restored);
    expect(events[5]!.data).toMatchObject({ id: created.id, deleted: true, permanent: true });
    expect(events[0]).toMatchObject({ resourceType: 'contact', resourceId: created.id, instance: 'live' });
    ws.close();
  });

  it('sends only contact events, and refuses a subscription to other types', async () => {
    const book = await addressBook(kith, { instance: 'live' });
    const ws = await StreamClient.open(kith, `${book.root}/events/ws`, book.token);
    await ws.subscribe({ id: 'all' });
    const refused = await ws.subscribe({ id: 'patients', types: ['contact.created', 'patient.created'] });
    expect(refused).toMatchObject({ type: 'error', errors: [{ errorCode: 'VALIDATION_ERROR' }] });
    const directory = `/${book.tenant.name}/live`;
    await kith.request('POST', `${directory}/patients`, { token: book.token, body: patient() });
    await kith.request('POST', `${directory}/companies`, { token: book.token, body: { name: 'Acme' } });
    const contact = await book.add({ first_name: 'Only' });
    const [only] = await ws.eventsUntil(1);
    await settle();
    expect(ws.events()).toHaveLength(1);
    expect(only).toMatchObject({ type: 'contact.created', data: { id: contact.id, display_name: 'Only' } });
    ws.close();
  });

  it('shows the same event in the feed’s names on the feed’s stream and in the face’s on the face’s', async () => {
    const book = await addressBook(kith);
    const feed = await StreamClient.open(kith, `/${book.tenant.name}/live/events/ws`, book.token);
    const face = await StreamClient.open(kith, '/api/v1/events/ws', book.token);
    await feed.subscribe({ id: 's' });
    await face.subscribe({ id: 's' });
    await book.add({ first_name: 'Twice', job_title: 'Pilot' });
    const [raw] = await feed.eventsUntil(1);
    const [mapped] = await face.eventsUntil(1);
    expect(raw!.data).toMatchObject({ firstName: 'Twice', jobTitle: 'Pilot' });
    expect(mapped!.data).toMatchObject({ first_name: 'Twice', job_title: 'Pilot' });
    const { data: _raw, ...rawEnvelope } = raw!;
    const { data: _mapped, ...mappedEnvelope } = mapped!;
    expect(mappedEnvelope).toEqual(rawEnvelope);
    feed.close();
    face.close();
  });

  it('resumes after lastEventId with the missed events in face names', async () => {
    const book = await addressBook(kith);
    const first = await book.add({ first_name: 'One' });
    await book.add({ first_name: 'Two' });
    await book.add({ first_name: 'Three' });
    const ws = await StreamClient.open(kith, '/api/v1/events/ws', book.token);
    expect(await ws.subscribe({ id: 'r', lastEventId: 1 })).toMatchObject({ sequence: 1 });
    const events = await ws.eventsUntil(2, 'r');
    expect(events.map((e) => (e.data as { display_name: string }).display_name)).toEqual(['Two', 'Three']);
    await ws.next((m) => m.type === 'live');
    await book.patch(first.id, { first_name: 'Uno' });
    expect((await ws.eventsUntil(3, 'r'))[2]!.data).toMatchObject({ display_name: 'Uno' });
    ws.close();
  });

  it('takes the token as the first message; on the bare path it streams the client’s default instance', async () => {
    const book = await addressBook(kith);
    const sandbox = await addressBook(kith, { tenant: book.tenant, instance: 'sandbox' });
    const ws = await StreamClient.open(kith, '/api/v1/events/ws', undefined, book.token);
    expect(ws.received[0]).toMatchObject({ type: 'ready', tenant: book.tenant.name, instance: 'live' });
    await ws.subscribe({ id: 'all' });
    await sandbox.add({ first_name: 'Elsewhere' });
    const here = await book.add({ first_name: 'Here' });
    const [only] = await ws.eventsUntil(1);
    await settle();
    expect(ws.events()).toHaveLength(1);
    expect(only!.data).toMatchObject({ id: here.id, display_name: 'Here' });
    ws.close();

    const named = await StreamClient.open(kith, `${sandbox.root}/events/ws`, undefined, book.token);
    expect(named.received[0]).toMatchObject({ type: 'ready', instance: 'sandbox' });
    named.close();

    const forged = (await StreamClient.connect(kith, '/api/v1/events/ws')) as StreamClient;
    forged.send({ type: 'auth', token: 'a.b.c' });
    expect(await forged.closed).toEqual({ code: 4401, reason: 'NOT_VALID_JSON_WEB_TOKEN' });
  });

  it('keeps a bare-path stream on the instance it opened on when the client’s default changes', async () => {
    const quick = await startKith({ wsHeartbeatSeconds: 1 });
    try {
      const book = await addressBook(quick);
      const sandbox = await addressBook(quick, { tenant: book.tenant, instance: 'sandbox' });
      await book.add({ first_name: 'Live one' });
      await sandbox.add({ first_name: 'Sandbox one' });
      const ws = await StreamClient.open(quick, '/api/v1/events/ws', undefined, book.token);
      const { tenant } = book;
      await quick.services.clients.setDefaultInstance(tenant.name, tenant.client.apiClient, 'sandbox');
      // A heartbeat re-checks the token; the stream must stay on the instance it opened on.
      await ws.next((m) => m.type === 'heartbeat', 0, 5000);
      const from = ws.received.length;
      await ws.next((m) => m.type === 'heartbeat', from, 5000);
      await ws.subscribe({ id: 'replay', lastEventId: 0 });
      const [replayed] = await ws.eventsUntil(1, 'replay');
      expect(replayed).toMatchObject({ instance: 'live', data: { display_name: 'Live one' } });
      ws.close();
    } finally {
      await quick.close();
    }
  });

  it('refuses an upgrade in the face’s error shape: bad token, no contacts:read, and a plain GET', async () => {
    const book = await addressBook(kith);
    const bad = (await StreamClient.connect(kith, '/api/v1/events/ws', 'x.y.z')) as Refusal;
    expect(bad.status).toBe(401);
    expect((bad.body as ErrorBody).error).toMatchObject({
      code: 'UNAUTHORIZED',
      details: { reason: 'NOT_VALID_JSON_WEB_TOKEN' },
    });
    const patientsOnly = await book.tenant.addClient({
      policy: { name: 'patients-only', grants: [{ resource: 'patients', actions: ['read'] }] },
    });
    for (const path of ['/api/v1/events/ws', `/${book.tenant.name}/live/api/v1/events/ws`]) {
      const refused = (await StreamClient.connect(kith, path, patientsOnly.token)) as Refusal;
      expect(refused.status, path).toBe(403);
      expect((refused.body as ErrorBody).error.code).toBe('FORBIDDEN');
    }
    // The feed's own stream still admits it (patient events).
    const feed = await StreamClient.open(kith, `/${book.tenant.name}/live/events/ws`, patientsOnly.token);
    feed.close();
    const firstMessage = (await StreamClient.connect(kith, '/api/v1/events/ws')) as StreamClient;
    firstMessage.send({ type: 'auth', token: patientsOnly.token });
    expect(await firstMessage.closed).toEqual({ code: 4403, reason: 'ACCESS_FOR_API_CLIENT_RESTRICTED' });
    const plain = await kith.request('GET', '/api/v1/events/ws', { token: book.token });
    expect(plain.status).toBe(426);
    expect(plain.headers.get('upgrade')).toBe('websocket');
    expect((plain.body as ErrorBody).error.code).toBe('UPGRADE_REQUIRED');
  });
});
