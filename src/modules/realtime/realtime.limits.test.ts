// The stream's timers and caps, on a node with a one-second heartbeat and small limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { contact } from '../../../test/factories.ts';
import { StreamClient } from './realtime.testing.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith({
    wsHeartbeatSeconds: 1,
    wsAuthTimeoutSeconds: 1,
    wsMaxConnectionsPerClient: 2,
    wsMaxSubscriptions: 3,
  });
});
afterAll(async () => kith.close());

async function stream() {
  const tenant = await kith.newTenant();
  const token = await tenant.token();
  const path = `/${tenant.name}/live/events/ws`;
  return { tenant, token, path, ws: await StreamClient.open(kith, path, token) };
}

describe('realtime stream limits', () => {
  it('sends a JSON heartbeat with the current sequence and a ping every interval', async () => {
    const { ws, token, tenant } = await stream();
    let pings = 0;
    ws.socket.on('ping', () => pings++);
    await kith.request('POST', `/${tenant.name}/live/contacts`, { token, body: contact() });
    const heartbeat = await ws.next((m) => m.type === 'heartbeat' && m.sequence === 1, 0, 5000);
    expect(heartbeat).toMatchObject({ type: 'heartbeat', sequence: 1 });
    expect(pings).toBeGreaterThan(0);
    ws.close();
  });

  it('drops a peer that stops answering pings', async () => {
    const tenant = await kith.newTenant();
    const path = `/${tenant.name}/live/events/ws`;
    const ws = (await StreamClient.connect(kith, path, await tenant.token(), {
      autoPong: false,
    })) as StreamClient;
    const started = Date.now();
    expect((await ws.closed).code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('closes a socket that sends no auth message in time with 4401', async () => {
    const tenant = await kith.newTenant();
    const ws = (await StreamClient.connect(kith, `/${tenant.name}/live/events/ws`)) as StreamClient;
    expect(await ws.closed).toEqual({ code: 4401, reason: 'no auth message in time' });
  });

  it('closes the stream when its token expires or its client is disabled, and takes a fresh token', async () => {
    const { ws, tenant, path } = await stream();
    ws.send({ type: 'auth', token: await tenant.token() });
    expect(await ws.next((m) => m.type === 'authenticated')).toHaveProperty('expiresAt');
    kith.clock.advance(kith.config.tokenTtlSeconds * 1000 + 1000);
    try {
      expect(await ws.closed).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
    } finally {
      kith.clock.reset();
    }
    const second = await StreamClient.open(kith, path, await tenant.token());
    await kith.services.clients.setEnabled(tenant.name, tenant.client.apiClient, false);
    expect(await second.closed).toEqual({ code: 4401, reason: 'NOT_VALID_JSON_WEB_TOKEN' });
  });

  it('refuses a token of another client on an open stream', async () => {
    const { ws, tenant } = await stream();
    const other = await tenant.addClient({});
    ws.send({ type: 'auth', token: other.token });
    expect(await ws.closed).toEqual({ code: 4403, reason: 'a token of another API client' });
  });

  it('caps open streams per API client and subscriptions per stream', async () => {
    const { ws, token, path } = await stream();
    const second = await StreamClient.open(kith, path, token);
    const third = (await StreamClient.connect(kith, path, token)) as StreamClient;
    expect((await third.closed).code).toBe(4429);
    second.close();
    await second.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await StreamClient.open(kith, path, token);
    for (const id of ['a', 'b', 'c'])
      expect(await ws.subscribe({ id })).toMatchObject({ type: 'subscribed' });
    expect(await ws.subscribe({ id: 'd' })).toMatchObject({
      type: 'error',
      errors: [{ errorCode: 'VALIDATION_ERROR' }],
    });
    expect(await ws.subscribe({ id: 'a', types: ['contact.created'] })).toMatchObject({ type: 'subscribed' });
    ws.close();
    again.close();
  });

  it('closes a stream that sends a message over the size cap with 1009', async () => {
    const { ws } = await stream();
    ws.send({ type: 'ping', padding: 'x'.repeat(20_000) });
    expect((await ws.closed).code).toBe(1009);
  });
});
