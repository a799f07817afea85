// The shared security suite on every route of the face, at the bare path and under a tenant's instance, with
// refusals checked in the face's error shape.
import { afterAll, beforeAll } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite, type SecuredRoute } from '../../../test/security-suite.ts';
import { expectFaceError } from './address-book.testing.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const ID = '3f1c2a9e-5b7d-4c1e-9a0b-1d2e3f4a5b6c';

const ROUTES: Array<Pick<SecuredRoute, 'method' | 'permission' | 'body'> & { path: string }> = [
  { method: 'POST', path: '/contacts', permission: 'contacts:create', body: { first_name: 'A' } },
  { method: 'GET', path: '/contacts', permission: 'contacts:read' },
  { method: 'GET', path: `/contacts/${ID}`, permission: 'contacts:read' },
  { method: 'PATCH', path: `/contacts/${ID}`, permission: 'contacts:update', body: { notes: 'x' } },
  { method: 'PATCH', path: `/contacts/${ID}/custom`, permission: 'contacts:update', body: { a: 1 } },
  { method: 'DELETE', path: `/contacts/${ID}`, permission: 'contacts:delete' },
  { method: 'DELETE', path: `/contacts/${ID}?permanent=true`, permission: 'contacts:delete' },
  { method: 'POST', path: `/contacts/${ID}/restore`, permission: 'contacts:update' },
  { method: 'GET', path: '/events/ws', permission: 'authenticated' },
];

for (const route of ROUTES) {
  securitySuite(() => kith, {
    ...route,
    path: () => `/api/v1${route.path}`,
    instanceScoped: false,
    tenantScoped: false,
    expectError: expectFaceError,
  });
  securitySuite(() => kith, {
    ...route,
    path: (tenant, instance) => `/${tenant}/${instance}/api/v1${route.path}`,
    instanceScoped: true,
    tenantScoped: true,
    expectError: expectFaceError,
  });
}
