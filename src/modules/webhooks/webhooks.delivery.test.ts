import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import type { Event } from '../events/events.schemas.ts';
import { drain, workspace, type Received } from './webhooks.fixtures.ts';
import type { Webhook } from './webhooks.schemas.ts';

let kith: Kith;
/** While set, a recorder added below fails every write after the outbox row is written: the write rolls back. */
let failWrites = false;
beforeAll(async () => {
  kith = await startKith({ webhookAllowedHosts: ['127.0.0.1'] });
  kith.services.writes.recordWith(async () => {
    if (failWrites) throw new Error('rolled back on purpose');
  });
});
afterAll(async () => {
  await kith.services.webhooks.dispatcher.close();
  await kith.close();
});

const verify = (secret: string, r: Received) => new Verifier(secret).verify(r.body, r.headers) as Event;

describe('webhooks: delivery', () => {
  it('delivers every committed change once, as the change feed shows it, signed per Standard Webhooks', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    const id = await s.contact();
    await s.call('PATCH', `/contacts/${id}`, { body: { notes: 'x' } });
    await s.call('DELETE', `/contacts/${id}`);
    await drain(kith);
    const feed = await s.call<{ data: Event[] }>('GET', '/changes');
    expect(feed.body.data).toHaveLength(3);
    expect(s.receiver.received.map((r) => verify(hook.secret, r))).toEqual(feed.body.data);
    for (const [i, r] of s.receiver.received.entries()) {
      expect(r.headers['webhook-id']).toBe(feed.body.data[i]!.id);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(r.headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    const first = s.receiver.received[0]!;
    expect(() =>
      new Verifier(hook.secret).verify(first.body.replace('Robin', 'Eve'), first.headers),
    ).toThrow();
    const otherSecret = (await s.hook()).secret;
    expect(() => verify(otherSecret, first)).toThrow();
    await drain(kith);
    expect(s.receiver.received).toHaveLength(3);
  });

  it('delivers nothing for a write that rolled back after writing its event', async () => {
    const s = await workspace(kith);
    await s.hook();
    failWrites = true;
    try {
      const res = await s.call('POST', '/contacts', { body: { firstName: 'Never', lastName: 'Committed' } });
      expect(res.status).toBe(500);
    } finally {
      failWrites = false;
    }
    await drain(kith);
    expect(s.receiver.received).toEqual([]);
    expect((await s.call<{ data: Event[] }>('GET', '/changes')).body.data).toEqual([]);
    await s.contact();
    await drain(kith);
    expect(s.receiver.received.map((r) => r.event.sequence)).toEqual([1]);
  });

  it('delivers only the event types the endpoint subscribed to, and only events after its creation', async () => {
    const s = await workspace(kith);
    const before = await s.contact();
    await s.hook({ eventTypes: ['contact.deleted', 'company.created'] });
    await s.call('DELETE', `/contacts/${before}`);
    const id = await s.contact();
    await s.call('PATCH', `/contacts/${id}`, { body: { notes: 'x' } });
    await s.call('POST', '/companies', { body: { name: 'Acme' } });
    await drain(kith);
    expect(s.receiver.received.map((r) => r.event.type).sort()).toEqual([
      'company.created',
      'contact.deleted',
    ]);
  });

  it('fans one instance out to endpoints at different cursors, each event once per endpoint', async () => {
    const s = await workspace(kith);
    await s.hook({ url: s.receiver.url('/early') });
    const early = [await s.contact(), await s.contact()];
    await drain(kith);
    await s.hook({ url: s.receiver.url('/late') });
    await s.hook({ url: s.receiver.url('/deletes'), eventTypes: ['contact.deleted'] });
    const late = [await s.contact(), await s.contact(), await s.contact()];
    await s.call('DELETE', `/contacts/${early[0]}`);
    await drain(kith);
    // Different resources may arrive in any order (they are sent in parallel), so compare sorted.
    const seen = (path: string) =>
      s.receiver.received
        .filter((r) => r.path === path)
        .map((r) => `${r.event.type} ${r.event.resourceId}`)
        .sort();
    const created = (ids: string[]) => ids.map((id) => `contact.created ${id}`);
    expect(seen('/early')).toEqual([...created([...early, ...late]), `contact.deleted ${early[0]}`].sort());
    expect(seen('/late')).toEqual([...created(late), `contact.deleted ${early[0]}`].sort());
    expect(seen('/deletes')).toEqual([`contact.deleted ${early[0]}`]);
  });

  it('keeps the order of one resource: a later event waits while an earlier one is retried', async () => {
    const s = await workspace(kith);
    await s.hook();
    const a = await s.contact();
    await s.call('PATCH', `/contacts/${a}`, { body: { notes: 'a2' } });
    const b = await s.contact();
    let failed = false;
    s.receiver.answer((r) => {
      const fail = r.event.resourceId === a && !failed;
      failed ||= fail;
      return { status: fail ? 503 : 200 };
    });
    const of = (id: string) =>
      s.receiver.received.filter((r) => r.event.resourceId === id).map((r) => r.event.type);
    await drain(kith);
    expect(of(a)).toEqual(['contact.created']);
    expect(of(b)).toEqual(['contact.created']);
    kith.clock.advance(5_000);
    try {
      await drain(kith);
    } finally {
      kith.clock.reset();
    }
    expect(of(a)).toEqual(['contact.created', 'contact.created', 'contact.updated']);
    expect(of(b)).toEqual(['contact.created']);
    const sequences = s.receiver.received
      .filter((r) => r.event.resourceId === a)
      .map((r) => r.event.sequence);
    expect(sequences).toEqual([1, 1, 2]);
  });

  it('sends a test event on request, logs it, and leaves the endpoint as it was', async () => {
    const s = await workspace(kith);
    const hook = await s.hook({ eventTypes: ['company.deleted'] });
    const ok = await s.call<{ eventId: string; status: string; httpStatus: number }>(
      'POST',
      `/webhooks/${hook.id}/test`,
    );
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'DELIVERED', httpStatus: 200, error: null });
    const event = verify(hook.secret, s.receiver.received[0]!);
    expect(event).toMatchObject({ id: ok.body.eventId, type: 'webhook.test', resourceId: hook.id });
    s.receiver.answer(() => ({ status: 500, body: 'boom' }));
    const failed = await s.call('POST', `/webhooks/${hook.id}/test`);
    expect(failed.body).toMatchObject({ status: 'FAILED', httpStatus: 500, error: 'HTTP 500' });
    const after = await s.call<Webhook>('GET', `/webhooks/${hook.id}`);
    expect(after.body).toMatchObject({ enabled: true, failingSince: null });
    const log = await s.log(`?endpointId=${hook.id}`);
    expect(log.body.data.map((a) => [a.trigger, a.status, a.response])).toEqual([
      ['test', 'FAILED', 'boom'],
      ['test', 'DELIVERED', ''],
    ]);
  });

  it('rotates the secret: both secrets verify during the grace period, only the new one after it', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    const rotated = await s.call<{ secret: string; previousSecretExpiresAt: string }>(
      'POST',
      `/webhooks/${hook.id}/rotate-secret`,
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(86_300_000);
    expect((await s.call<Webhook>('GET', `/webhooks/${hook.id}`)).body.previousSecretExpiresAt).toBe(
      rotated.body.previousSecretExpiresAt,
    );
    await s.contact();
    await drain(kith);
    const [during] = s.receiver.received;
    expect(during!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(rotated.body.secret, during!).type).toBe('contact.created');
    expect(verify(hook.secret, during!).type).toBe('contact.created');
    const now = await s.call<{ secret: string; previousSecretExpiresAt: null }>(
      'POST',
      `/webhooks/${hook.id}/rotate-secret?graceSeconds=0`,
    );
    expect(now.body.previousSecretExpiresAt).toBeNull();
    await s.contact();
    await drain(kith);
    const after = s.receiver.received[1]!;
    expect(verify(now.body.secret, after).type).toBe('contact.created');
    expect(() => verify(rotated.body.secret, after)).toThrow();
  });
});

describe('webhooks: delivery log and replay', () => {
  it('logs every attempt with its outcome, filtered by instance, status, endpoint and time', async () => {
    const s = await workspace(kith);
    const hook = await s.hook();
    s.receiver.answer((_, i) => (i === 0 ? { status: 500, body: 'x'.repeat(10_000) } : { status: 204 }));
    const id = await s.contact();
    await drain(kith);
    kith.clock.advance(5_000);
    try {
      await drain(kith);
    } finally {
      kith.clock.reset();
    }
    const log = await s.log();
    expect(log.status).toBe(200);
    expect(log.body.metaInfo.totalElements).toBe(2);
    const [second, first] = log.body.data;
    const shared = {
      instance: 'live',
      eventType: 'contact.created',
      eventEntity: 'CONTACT',
      eventSubtype: 'CONTACT_CREATED',
      endpointId: hook.id,
      url: hook.url,
      trigger: 'outbox',
    };
    expect(first).toMatchObject({ ...shared, status: 'FAILED', httpStatus: 500, attempt: 1 });
    expect(first).toMatchObject({ statusCode: 'INTERNAL_SERVER_ERROR', error: 'HTTP 500' });
    expect((first!.response as string).length).toBe(4096);
    expect(second).toMatchObject({
      ...shared,
      status: 'DELIVERED',
      httpStatus: 204,
      statusCode: 'NO_CONTENT',
    });
    expect(second).toMatchObject({ attempt: 2, error: null, eventId: first!.eventId });
    expect(second!.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(log.body)).not.toContain(id);
    const count = async (query: string) => (await s.log(query)).body.metaInfo.totalElements;
    expect(await count('?status=FAILED')).toBe(1);
    expect(await count('?status=DELIVERED&instance=live')).toBe(1);
    expect(await count('?instance=sandbox')).toBe(0);
    expect(await count(`?endpointId=${hook.id}&size=1`)).toBe(2);
    expect((await s.log('?size=1')).body.data).toHaveLength(1);
    expect(await count(`?dateStart=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(0);
    expect(await count(`?dateEnd=${new Date(Date.now() + 60_000).toISOString()}`)).toBe(2);
    expect((await s.log('?status=SENTISH')).status).toBe(400);
  });

  it("shows a client only its own tenant's attempts, in the instances granted to it", async () => {
    const s = await workspace(kith);
    await s.hook();
    await s.contact();
    await drain(kith);
    expect((await s.log()).body.metaInfo.totalElements).toBe(1);
    const other = await workspace(kith);
    expect((await other.log()).body.metaInfo.totalElements).toBe(0);
    const sandboxOnly = await s.tenant.addClient({ instances: ['sandbox'] });
    const path = `/${s.tenant.name}/admin/audit-webhook`;
    const own = await kith.request<{ metaInfo: { totalElements: number } }>('GET', path, {
      token: sandboxOnly.token,
    });
    expect(own.body.metaInfo.totalElements).toBe(0);
    const asked = await kith.request('GET', `${path}?instance=live`, { token: sandboxOnly.token });
    expect(asked.status).toBe(403);
  });

  it('replays one event, or a time range, to one endpoint; the receiver sees the same webhook-id again', async () => {
    const s = await workspace(kith);
    const hook = await s.hook({ eventTypes: ['contact.created', 'contact.updated'] });
    const start = new Date().toISOString();
    const id = await s.contact();
    await s.call('PATCH', `/contacts/${id}`, { body: { notes: 'x' } });
    await s.call('DELETE', `/contacts/${id}`);
    await drain(kith);
    expect(s.receiver.received).toHaveLength(2);
    const [created] = s.receiver.received;
    const one = await s.call('POST', `/webhooks/${hook.id}/replay`, { body: { eventId: created!.event.id } });
    expect(one.status).toBe(202);
    expect(one.body).toEqual({ queued: 1 });
    await drain(kith);
    expect(s.receiver.received[2]!.headers['webhook-id']).toBe(created!.headers['webhook-id']);
    expect(s.receiver.received[2]!.body).toBe(created!.body);
    const range = await s.call('POST', `/webhooks/${hook.id}/replay`, { body: { since: start } });
    expect(range.body).toEqual({ queued: 2 });
    await drain(kith);
    expect(s.receiver.received.slice(3).map((r) => r.event.type)).toEqual([
      'contact.created',
      'contact.updated',
    ]);
    expect((await s.log('?status=DELIVERED')).body.data.filter((a) => a.trigger === 'replay')).toHaveLength(
      3,
    );
  });

  it('refuses a replay that is ambiguous, unknown, outside the filter or to a disabled endpoint', async () => {
    const s = await workspace(kith);
    const hook = await s.hook({ eventTypes: ['contact.updated'] });
    await s.contact();
    const feed = await s.call<{ data: Event[] }>('GET', '/changes');
    const replay = (body: unknown) => s.call('POST', `/webhooks/${hook.id}/replay`, { body });
    expect((await replay({})).status).toBe(400);
    expect((await replay({ eventId: feed.body.data[0]!.id, since: new Date().toISOString() })).status).toBe(
      400,
    );
    expect((await replay({ until: new Date().toISOString() })).status).toBe(400);
    const now = new Date().toISOString();
    expect((await replay({ since: now, until: now })).status).toBe(400);
    expect((await replay({ eventId: 'evt_nope' })).status).toBe(404);
    expect((await replay({ eventId: feed.body.data[0]!.id })).status).toBe(409);
    await s.call('PATCH', `/webhooks/${hook.id}`, { body: { enabled: false } });
    expect((await replay({ since: new Date(0).toISOString() })).status).toBe(409);
  });
});

describe('webhooks: background dispatch', () => {
  it('delivers on its own shortly after the commit once started', async () => {
    const s = await workspace(kith);
    await s.hook();
    const dispatcher = kith.services.webhooks.dispatcher;
    dispatcher.start();
    try {
      await s.contact();
      const deadline = Date.now() + 5_000;
      while (s.receiver.received.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      await dispatcher.stop();
    }
    expect(s.receiver.received.map((r) => r.event.type)).toEqual(['contact.created']);
    expect((await s.log()).body.data.map((a) => a.status)).toEqual(['DELIVERED']);
  });
});
