// The shared security suite every authenticated route runs: no token, malformed token, wrong signature, expired
// token, disabled client, missing permission, instance not granted, another tenant's instance.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  RESOURCES,
  type Action,
  type Permission,
  type Resource,
} from '../src/platform/auth/policies.ts';
import type { Kith, TestTenant } from './harness.ts';

export interface SecuredRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Builds the path for a tenant and one of its instances (routes without an instance ignore it). */
  path: (tenant: string, instance: string) => string;
  permission: Permission | 'authenticated';
  /** Whether the path names an instance (adds the instance tests). */
  instanceScoped: boolean;
  /** Whether the path names a tenant (adds the other-tenant test). */
  tenantScoped: boolean;
  body?: unknown;
  /**
   * Checks a refusal in the route's own error shape (a compatibility face); Welkin's array by default. `code` is
   * the Kith catalogue code behind the refusal.
   */
  expectError?: (res: { status: number; body: unknown }, status: number, code: string) => void;
}

function expectWelkinError(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(Array.isArray(res.body)).toBe(true);
  const [item] = res.body as Array<Record<string, unknown>>;
  expect(item).toMatchObject({ errorCode: code, componentType: 'AUTH' });
  expect(Object.keys(item!).sort()).toEqual(['componentType', 'date', 'details', 'errorCode', 'message']);
}

/** A token with a valid shape and claims but signed with another key. */
function forge(token: string): string {
  const [header, payload] = token.split('.');
  const signature = createHmac('sha256', 'not-the-kith-signing-key')
    .update(`${header}.${payload}`)
    .digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function securitySuite(kith: () => Kith, route: SecuredRoute) {
  const expectError = route.expectError ?? expectWelkinError;
  const welkinShape = route.expectError === undefined;
  const name = `${route.method} ${route.path(':tenant', ':instance')}`;
  const call = async (tenant: TestTenant, options: { token?: string; headers?: Record<string, string> }) =>
    kith().request(route.method, route.path(tenant.name, tenant.instances[0]!), {
      ...options,
      body: route.body,
    });

  describe(`security: ${name}`, () => {
    it('rejects a request without a token with 401 NOT_VALID_JSON_WEB_TOKEN and a Bearer challenge', async () => {
      const tenant = await kith().newTenant();
      const res = await call(tenant, {});
      expectError(res, 401, 'NOT_VALID_JSON_WEB_TOKEN');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('rejects malformed tokens and other schemes', async () => {
      const tenant = await kith().newTenant();
      for (const authorization of [
        'Bearer',
        'Bearer abc',
        'Bearer a.b',
        'Basic dXNlcjpwYXNz',
        'bearer x.y.z',
      ]) {
        const res = await call(tenant, { headers: { authorization } });
        expectError(res, 401, 'NOT_VALID_JSON_WEB_TOKEN');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    });

    it('rejects a token signed with another key', async () => {
      const tenant = await kith().newTenant();
      const res = await call(tenant, { token: forge(await tenant.token()) });
      expectError(res, 401, 'NOT_VALID_JSON_WEB_TOKEN');
    });

    it('rejects an expired token with 401 TOKEN_EXPIRED', async () => {
      const tenant = await kith().newTenant();
      const token = await tenant.token();
      kith().clock.advance(kith().config.tokenTtlSeconds * 1000 + 1000);
      try {
        const res = await call(tenant, { token });
        expectError(res, 401, 'TOKEN_EXPIRED');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      } finally {
        kith().clock.reset();
      }
    });

    it("rejects a disabled client's token", async () => {
      const tenant = await kith().newTenant();
      const token = await tenant.token();
      await kith().services.clients.setEnabled(tenant.name, tenant.client.apiClient, false);
      expectError(await call(tenant, { token }), 401, 'NOT_VALID_JSON_WEB_TOKEN');
    });

    if (route.permission !== 'authenticated') {
      const [resource, action] = route.permission.split(':') as [Resource, Action];
      it(`denies a client whose policy lacks ${route.permission} with Welkin's 403`, async () => {
        const tenant = await kith().newTenant();
        // Every permission except the one the route needs.
        const grants = RESOURCES.map((r) => ({
          resource: r,
          actions: ACTIONS.filter((a) => r !== resource || a !== action),
        }));
        const client = await tenant.addClient({
          policy: { name: 'all-but-one', grants: grants.filter((g) => g.actions.length > 0) },
        });
        const res = await call(tenant, { token: client.token });
        expectError(res, 403, 'ACCESS_FOR_API_CLIENT_RESTRICTED');
        if (!welkinShape) return;
        const [item] = res.body as Array<{ details: Record<string, unknown> }>;
        expect(item!.details).toEqual({
          clientId: client.apiClient,
          clientName: client.apiClient,
          clientType: 'API_CLIENT',
          organizationName: tenant.name,
          requestURI: route.path(tenant.name, tenant.instances[0]!),
        });
      });
    }

    if (route.instanceScoped) {
      it('denies an instance that exists but was not granted to the client', async () => {
        const tenant = await kith().newTenant({ instances: ['live', 'sandbox'] });
        const client = await tenant.addClient({ instances: ['sandbox'] });
        const res = await kith().request(route.method, route.path(tenant.name, 'live'), {
          token: client.token,
          body: route.body,
        });
        expectError(res, 403, 'ACCESS_FOR_API_CLIENT_RESTRICTED');
      });

      it('denies an instance that does not exist exactly like one not granted', async () => {
        const tenant = await kith().newTenant();
        const token = await tenant.token();
        const res = await kith().request(route.method, route.path(tenant.name, 'nosuchinstance'), {
          token,
          body: route.body,
        });
        expectError(res, 403, 'ACCESS_FOR_API_CLIENT_RESTRICTED');
      });
    }

    if (route.tenantScoped) {
      it("denies another tenant's path", async () => {
        const mine = await kith().newTenant();
        const theirs = await kith().newTenant();
        const res = await kith().request(route.method, route.path(theirs.name, theirs.instances[0]!), {
          token: await mine.token(),
          body: route.body,
        });
        expectError(res, 403, 'ACCESS_FOR_API_CLIENT_RESTRICTED');
      });
    }
  });
}
