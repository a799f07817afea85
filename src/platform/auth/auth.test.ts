import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { randomName, startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite } from '../../../test/security-suite.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const withoutDate = (body: unknown) =>
  (body as Array<Record<string, unknown>>).map(({ date: _date, ...rest }) => rest);

describe('POST /auth/token', () => {
  it('exchanges a key and secret for a token that expires in one hour', async () => {
    const tenant = await kith.newTenant();
    const before = Date.now();
    const res = await kith.request<{ token: string; expiresAt: string }>('POST', '/auth/token', {
      body: tenant.client,
    });
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const after = Date.now();
    // At least an hour from when it was asked for, at most an hour (rounded up to the second) from the answer.
    const expiresAt = Date.parse(res.body.expiresAt);
    expect(expiresAt - before).toBeGreaterThanOrEqual(3600_000);
    expect(expiresAt - after).toBeLessThanOrEqual(3601_000);
    const me = await kith.request<{ apiClient: string; tenant: string }>('GET', '/auth/me', {
      token: res.body.token,
    });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ apiClient: tenant.client.apiClient, tenant: tenant.name });
  });

  it('answers an unknown key, a wrong secret and a disabled client with the same 401', async () => {
    const tenant = await kith.newTenant();
    const disabled = await tenant.addClient({});
    await kith.services.clients.setEnabled(tenant.name, disabled.apiClient, false);
    const attempts = [
      { apiClient: 'NOSUCHCLIENT', secret: tenant.client.secret },
      { apiClient: tenant.client.apiClient, secret: 'wrong-secret' },
      { apiClient: disabled.apiClient, secret: disabled.secret },
    ];
    const answers = [];
    for (const body of attempts) {
      const res = await kith.request('POST', '/auth/token', { body });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      answers.push(withoutDate(res.body));
    }
    expect(answers[0]).toEqual([
      {
        errorCode: 'NOT_VALID_CREDENTIALS',
        componentType: 'AUTH',
        message: 'API client key or secret is not valid',
        details: {},
      },
    ]);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('names every missing or unknown field of a bad request', async () => {
    const res = await kith.request('POST', '/auth/token', { body: { apiKey: 'x' } });
    expect(res.status).toBe(400);
    const [error] = res.body as Array<{ errorCode: string; details: { fields: Array<{ field: string }> } }>;
    expect(error!.errorCode).toBe('VALIDATION_ERROR');
    expect(error!.details.fields.map((f) => f.field).sort()).toEqual(['apiClient', 'apiKey', 'secret']);
  });
});

describe('POST /{tenant}/admin/api_clients/{apiClient} (the Welkin client form)', () => {
  it('issues a token for the secret alone', async () => {
    const tenant = await kith.newTenant();
    const res = await kith.request<{ token: string; expiresAt: string }>(
      'POST',
      `/${tenant.name}/admin/api_clients/${tenant.client.apiClient}`,
      { body: { secret: tenant.client.secret } },
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'token']);
    const me = await kith.request('GET', `/${tenant.name}/live`, { token: res.body.token });
    expect(me.status).toBe(200);
  });

  it("refuses a key under another tenant's name with the same 401 as a wrong secret", async () => {
    const tenant = await kith.newTenant();
    const other = await kith.newTenant();
    const wrongTenant = await kith.request(
      'POST',
      `/${other.name}/admin/api_clients/${tenant.client.apiClient}`,
      {
        body: { secret: tenant.client.secret },
      },
    );
    const wrongSecret = await kith.request(
      'POST',
      `/${tenant.name}/admin/api_clients/${tenant.client.apiClient}`,
      {
        body: { secret: 'nope' },
      },
    );
    expect(wrongTenant.status).toBe(401);
    expect(withoutDate(wrongTenant.body)).toEqual(withoutDate(wrongSecret.body));
  });
});

describe('token lifecycle', () => {
  it('expires tokens after their lifetime with 401 TOKEN_EXPIRED, and a new token works', async () => {
    const tenant = await kith.newTenant();
    const token = await tenant.token();
    kith.clock.advance(3599_000);
    try {
      expect((await kith.request('GET', '/auth/me', { token })).status).toBe(200);
      kith.clock.advance(2_000);
      const res = await kith.request('GET', '/auth/me', { token });
      expect(res.status).toBe(401);
      expect((res.body as Array<{ errorCode: string }>)[0]!.errorCode).toBe('TOKEN_EXPIRED');
      expect((await kith.request('GET', '/auth/me', { token: await tenant.token() })).status).toBe(200);
    } finally {
      kith.clock.reset();
    }
  });

  it('rotating the secret invalidates the old secret and its tokens', async () => {
    const tenant = await kith.newTenant();
    const oldToken = await tenant.token();
    const secret = await kith.services.clients.rotateSecret(tenant.name, tenant.client.apiClient);
    const oldSecret = await kith.request('POST', '/auth/token', { body: tenant.client });
    expect(oldSecret.status).toBe(401);
    expect((await kith.request('GET', '/auth/me', { token: oldToken })).status).toBe(401);
    const fresh = await kith.tokenFor({ apiClient: tenant.client.apiClient, secret });
    expect((await kith.request('GET', '/auth/me', { token: fresh })).status).toBe(200);
  });

  it('disabling a client stops its tokens; re-enabling restores them', async () => {
    const tenant = await kith.newTenant();
    const token = await tenant.token();
    await kith.services.clients.setEnabled(tenant.name, tenant.client.apiClient, false);
    expect((await kith.request('GET', '/auth/me', { token })).status).toBe(401);
    await kith.services.clients.setEnabled(tenant.name, tenant.client.apiClient, true);
    expect((await kith.request('GET', '/auth/me', { token })).status).toBe(200);
  });

  it('a change made through another node reaches this node within 5 seconds', async () => {
    // A second node on the same database, as in a scaled-out deployment (or the CLI).
    const other = await startKith({ dataDir: kith.config.dataDir, databaseUrl: kith.config.databaseUrl });
    try {
      const tenant = await kith.newTenant();
      const token = await tenant.token();
      expect((await kith.request('GET', '/auth/me', { token })).status).toBe(200);
      await other.services.clients.setEnabled(tenant.name, tenant.client.apiClient, false);
      const started = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - started < 5_000) {
        status = (await kith.request('GET', '/auth/me', { token })).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(401);
    } finally {
      await other.app.close();
      await other.database.close();
    }
  });
});

describe('token issuance limits', () => {
  it('blocks a client after 100 token requests in 5 minutes, for 5 minutes', async () => {
    // rate-limiter-flexible keeps time with Date.now; faking Date (not timers) moves its window.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const local = await startKith({ redisUrl: undefined });
    try {
      const tenant = await local.newTenant();
      for (let i = 0; i < 100; i++) {
        expect((await local.request('POST', '/auth/token', { body: tenant.client })).status).toBe(200);
      }
      const blocked = await local.request('POST', '/auth/token', { body: tenant.client });
      expect(blocked.status).toBe(429);
      expect((blocked.body as Array<{ errorCode: string }>)[0]!.errorCode).toBe('TOKEN_RATE_LIMIT_EXCEEDED');
      const retryAfter = Number(blocked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(290);
      expect(retryAfter).toBeLessThanOrEqual(300);

      // Other clients are unaffected.
      const other = await local.newTenant();
      expect((await local.request('POST', '/auth/token', { body: other.client })).status).toBe(200);

      vi.setSystemTime(Date.now() + 299_000);
      expect((await local.request('POST', '/auth/token', { body: tenant.client })).status).toBe(429);
      vi.setSystemTime(Date.now() + 2_000);
      expect((await local.request('POST', '/auth/token', { body: tenant.client })).status).toBe(200);
    } finally {
      vi.useRealTimers();
      await local.close();
    }
  });

  it('throttles an address that keeps failing, whatever key it tries', async () => {
    const local = await startKith({ redisUrl: undefined, tokenFailuresPerAddress: 5 });
    try {
      const tenant = await local.newTenant();
      for (let i = 0; i < 5; i++) {
        const res = await local.request('POST', '/auth/token', {
          body: { apiClient: randomName('K').toUpperCase(), secret: 'guess' },
        });
        expect(res.status).toBe(401);
      }
      const res = await local.request('POST', '/auth/token', {
        body: { apiClient: 'ANOTHERGUESS', secret: 'guess' },
      });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      // Even the right secret waits out the block from that address.
      expect((await local.request('POST', '/auth/token', { body: tenant.client })).status).toBe(429);
    } finally {
      await local.close();
    }
  });

  it.skipIf(!process.env.KITH_REDIS_URL)('shares one limit across nodes through Redis', async () => {
    const redisUrl = process.env.KITH_REDIS_URL;
    const a = await startKith({ redisUrl, tokenRequestsPerClient: 10 });
    const b = await startKith({ redisUrl, dataDir: a.config.dataDir, databaseUrl: a.config.databaseUrl });
    try {
      const tenant = await a.newTenant();
      for (let i = 0; i < 5; i++) {
        expect((await a.request('POST', '/auth/token', { body: tenant.client })).status).toBe(200);
      }
      // Node b allows 100 by its own settings, but the shared counter already holds a's five requests.
      const bStatuses = [];
      for (let i = 0; i < 6; i++)
        bStatuses.push((await b.request('POST', '/auth/token', { body: tenant.client })).status);
      expect(bStatuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect((await a.request('POST', '/auth/token', { body: tenant.client })).status).toBe(429);
    } finally {
      await b.app.close();
      await b.database.close();
      await a.close();
    }
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: () => '/auth/me',
  permission: 'authenticated',
  instanceScoped: false,
  tenantScoped: false,
});
