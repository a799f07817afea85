// Seed 003's rate limits: 60 creates and 120 other requests a minute per client (or per address for anonymous
// callers), in windows of the injectable clock, reported in RateLimit-* headers, shared by nodes through Redis.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type ApiResponse, type Kith } from '../../../test/harness.ts';
import { expectDetail, faceClient, MOUNTS, seedContact } from './company-contacts.fixtures.ts';

const redisUrl = process.env.KITH_REDIS_URL;
let kith: Kith;
beforeAll(async () => {
  // Behind a (pretend) proxy, so tests can speak from several addresses through X-Forwarded-For.
  kith = await startKith({ redisUrl, trustProxy: true });
});
afterAll(async () => kith.close());

/** Moves the clock to just after the start of a window, so a test's requests all fall in one. */
function startOfWindow(node: Kith = kith): void {
  const now = node.clock.now().getTime();
  node.clock.advance(60_000 - (now % 60_000) + 5);
}

function expectWithin(value: number, low: number, high: number): void {
  expect(value).toBeGreaterThanOrEqual(low);
  expect(value).toBeLessThanOrEqual(high);
}

function limitHeaders(res: ApiResponse) {
  return {
    limit: res.headers.get('ratelimit-limit'),
    remaining: res.headers.get('ratelimit-remaining'),
    reset: Number(res.headers.get('ratelimit-reset')),
  };
}

describe('rate limits', () => {
  it('refuses the 61st create in a window with 429 and Retry-After, and allows it in the next', async () => {
    const face = await faceClient(kith, 'scoped');
    startOfWindow();
    const first = await face.call('POST', '', { body: seedContact(null) });
    expect(first.status).toBe(201);
    expect(limitHeaders(first)).toMatchObject({ limit: '60', remaining: '59' });
    expectWithin(limitHeaders(first).reset, 55, 60);
    for (let i = 1; i < 60; i++)
      expect((await face.call('POST', '', { body: seedContact(null) })).status).toBe(201);
    kith.clock.advance(30_000);
    const refused = await face.call('POST', '', { body: seedContact(null) });
    expectDetail(refused, 429, 'Rate limit exceeded');
    expect(limitHeaders(refused)).toMatchObject({ limit: '60', remaining: '0' });
    // The clock follows real time from where the test put it: the window ends in at most 30 s.
    expectWithin(limitHeaders(refused).reset, 20, 30);
    expect(refused.headers.get('retry-after')).toBe(String(limitHeaders(refused).reset));
    // The other requests have their own allowance.
    expect((await face.call('GET', `/${randomUUID()}`)).status).toBe(404);

    kith.clock.advance(30_000);
    const again = await face.call('POST', '', { body: seedContact(null) });
    expect(again.status, again.text).toBe(201);
    expect(limitHeaders(again).remaining).toBe('59');
  });

  it('allows 120 other requests a minute, counted across routes, then 429', async () => {
    const face = await faceClient(kith, 'bare');
    startOfWindow();
    const john = await face.create(seedContact(null));
    const calls = [
      () => face.call('GET', `/${john.id}`),
      () => face.call('PATCH', `/${john.id}`, { body: { designation: 'x' } }),
      () => face.call('GET', `/${randomUUID()}`),
    ];
    for (let i = 0; i < 120; i++) {
      const res = await calls[i % calls.length]!();
      expect(res.status).toBeLessThan(429);
      expect(limitHeaders(res)).toMatchObject({ limit: '120', remaining: String(119 - i) });
    }
    const refused = await face.call('DELETE', `/${john.id}`);
    expectDetail(refused, 429, 'Rate limit exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The contact is still there: a refused request does nothing.
    kith.clock.advance(60_000);
    expect((await face.call('GET', `/${john.id}`)).status).toBe(200);
  });

  it('keeps one bucket per client', async () => {
    const mine = await faceClient(kith, 'scoped');
    const theirs = await faceClient(kith, 'scoped');
    startOfWindow();
    for (let i = 0; i < 60; i++)
      expect((await mine.call('POST', '', { body: seedContact(null) })).status).toBe(201);
    expect((await mine.call('POST', '', { body: seedContact(null) })).status).toBe(429);
    const other = await theirs.call('POST', '', { body: seedContact(null) });
    expect(other.status).toBe(201);
    expect(limitHeaders(other).remaining).toBe('59');
  });

  it('counts anonymous callers per address', async () => {
    const tenant = await kith.newTenant();
    await kith.services.tenants.setPublicIntake(tenant.name, 'live', true);
    const base = MOUNTS.scoped(tenant.name, 'live');
    const from = (address: string) =>
      kith.request('POST', base, { body: seedContact(null), headers: { 'x-forwarded-for': address } });
    startOfWindow();
    for (let i = 0; i < 60; i++) expect((await from('203.0.113.7')).status).toBe(201);
    const refused = await from('203.0.113.7');
    expectDetail(refused, 429, 'Rate limit exceeded');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const elsewhere = await from('198.51.100.2');
    expect(elsewhere.status).toBe(201);
    expect(limitHeaders(elsewhere).remaining).toBe('59');
  });

  it('reports the limit on every answer, errors included', async () => {
    const face = await faceClient(kith, 'scoped');
    for (const res of [
      await face.call('GET', `?company_id=${randomUUID()}`),
      await face.call('GET', '?company_id=nope'),
      await face.call('DELETE', `/${randomUUID()}`),
    ]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(limitHeaders(res).limit).toBe('120');
      expect(Number(limitHeaders(res).remaining)).toBeGreaterThan(0);
      expectWithin(limitHeaders(res).reset, 1, 60);
    }
  });

  it.skipIf(!redisUrl)('is one limit across nodes through Redis', async () => {
    const other = await startKith({
      redisUrl,
      dataDir: kith.config.dataDir,
      databaseUrl: kith.config.databaseUrl,
    });
    try {
      const face = await faceClient(kith, 'scoped');
      const path = MOUNTS.scoped(face.tenant.name, 'live');
      // Both nodes in the same window of their (separate) clocks.
      const now = Date.now();
      for (const node of [kith, other]) {
        node.clock.reset();
        node.clock.advance(60_000 - (now % 60_000) + 5);
      }
      for (let i = 0; i < 60; i++) {
        const node = i % 2 === 0 ? kith : other;
        expect(
          (await node.request('POST', path, { token: face.token, body: seedContact(null) })).status,
        ).toBe(201);
      }
      const refused = await other.request('POST', path, { token: face.token, body: seedContact(null) });
      expect(refused.status).toBe(429);
    } finally {
      await other.app.close();
      await other.services.rateLimits.close();
      await other.database.close();
    }
  });
});
