// Who may use the face: the shared security suite on every route at both paths, and security policies that
// limit a client to chosen companies.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite, type SecuredRoute } from '../../../test/security-suite.ts';
import { StreamClient, type Refusal } from '../../modules/realtime/realtime.testing.ts';
import type { Permission } from '../../platform/auth/policies.ts';
import {
  expectDetail,
  expectFaceRefusal,
  faceClient,
  MOUNTS,
  seedContact,
} from './company-contacts.fixtures.ts';
import type { FaceContact } from './company-contacts.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const ROUTES: Array<{
  method: SecuredRoute['method'];
  suffix: string;
  permission: Permission;
  body?: unknown;
}> = [
  { method: 'GET', suffix: `?company_id=${randomUUID()}`, permission: 'contacts:read' },
  { method: 'GET', suffix: `/${randomUUID()}`, permission: 'contacts:read' },
  { method: 'POST', suffix: '', permission: 'contacts:create', body: seedContact(null) },
  { method: 'PATCH', suffix: `/${randomUUID()}`, permission: 'contacts:update', body: { designation: 'x' } },
  { method: 'DELETE', suffix: `/${randomUUID()}`, permission: 'contacts:delete' },
];

for (const route of ROUTES) {
  securitySuite(() => kith, {
    ...route,
    path: () => `${MOUNTS.bare()}${route.suffix}`,
    instanceScoped: false,
    tenantScoped: false,
    expectError: expectFaceRefusal,
  });
  securitySuite(() => kith, {
    ...route,
    path: (tenant, instance) => `${MOUNTS.scoped(tenant, instance)}${route.suffix}`,
    instanceScoped: true,
    tenantScoped: true,
    expectError: expectFaceRefusal,
  });
}

const COMPANY_FORBIDDEN = "Not enough permissions to access this company's contacts";

/** A tenant with companies Acme and Globex, a contact in each and one in none, and a client limited to Acme. */
async function limitedToAcme() {
  const admin = await faceClient(kith, 'scoped');
  const acme = await admin.company('Acme');
  const globex = await admin.company('Globex');
  const inAcme = await admin.create(seedContact(acme));
  const inGlobex = await admin.create(seedContact(globex, { email: 'g@globex.com' }));
  const inNone = await admin.create(seedContact(null, { email: 'n@example.com' }));
  const client = await admin.tenant.addClient({
    policy: {
      name: 'acme-only',
      grants: [{ resource: 'contacts', actions: ['*'] }],
      companies: [acme],
    },
  });
  const limited = await faceClient(kith, 'scoped', { tenant: admin.tenant, token: client.token });
  return { admin, limited, acme, globex, inAcme, inGlobex, inNone };
}

describe('security policies limited to chosen companies', () => {
  it("lists the client's companies and answers 403 for any other, known or not", async () => {
    const { limited, acme, globex, inAcme } = await limitedToAcme();
    const mine = await limited.call<FaceContact[]>('GET', `?company_id=${acme}`);
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual([inAcme]);
    expectDetail(await limited.call('GET', `?company_id=${globex}`), 403, COMPANY_FORBIDDEN);
    expectDetail(await limited.call('GET', `?company_id=${randomUUID()}`), 403, COMPANY_FORBIDDEN);
  });

  it("reads, updates and deletes only its companies' contacts; the others are not found", async () => {
    const { limited, inAcme, inGlobex, inNone } = await limitedToAcme();
    expect((await limited.call('GET', `/${inAcme.id}`)).status).toBe(200);
    for (const hidden of [inGlobex, inNone]) {
      expectDetail(await limited.call('GET', `/${hidden.id}`), 404, 'Contact not found');
      expectDetail(
        await limited.call('PATCH', `/${hidden.id}`, { body: { designation: 'x' } }),
        404,
        'Contact not found',
      );
      expectDetail(await limited.call('DELETE', `/${hidden.id}`), 404, 'Contact not found');
    }
    expect((await limited.call('PATCH', `/${inAcme.id}`, { body: { designation: 'CEO' } })).status).toBe(200);
    expect((await limited.call('DELETE', `/${inAcme.id}`)).status).toBe(204);
  });

  it('is refused by every other API, so the limit cannot be stepped around', async () => {
    const { admin, acme, inGlobex } = await limitedToAcme();
    // Every permission, so each refusal below is the company limit's.
    const limited = await admin.tenant.addClient({
      policy: { name: 'acme-everything', grants: [{ resource: '*', actions: ['*'] }], companies: [acme] },
    });
    const root = `/${admin.tenant.name}/live`;
    const as = { token: limited.token };
    expect((await kith.request('GET', `${root}/contacts-api/contacts?company_id=${acme}`, as)).status).toBe(
      200,
    );
    for (const path of [
      `${root}/contacts`,
      `${root}/contacts/${inGlobex.id}`,
      `${root}/api/v1/contacts`,
      `/api/v1/contacts/${inGlobex.id}`,
      `${root}/changes`,
      `${root}/companies`,
    ]) {
      expect((await kith.request('GET', path, as)).status, path).toBe(403);
    }
    const upgrade = await StreamClient.connect(kith, `${root}/events/ws`, limited.token);
    expect((upgrade as Refusal).status).toBe(403);
    const browser = (await StreamClient.connect(kith, `${root}/events/ws`)) as StreamClient;
    browser.send({ type: 'auth', token: limited.token });
    expect(await browser.closed).toEqual({ code: 4403, reason: 'ACCESS_FOR_API_CLIENT_RESTRICTED' });
  });

  it('creates contacts only in its companies and cannot move one out of them', async () => {
    const { admin, limited, acme, globex, inAcme, inGlobex } = await limitedToAcme();
    expect(
      (await limited.call('POST', '', { body: seedContact(acme, { email: 'new@acme.com' }) })).status,
    ).toBe(201);
    expectDetail(await limited.call('POST', '', { body: seedContact(globex) }), 403, COMPANY_FORBIDDEN);
    expectDetail(await limited.call('POST', '', { body: seedContact(null) }), 403, COMPANY_FORBIDDEN);
    const { company_id: _omitted, ...withoutCompany } = seedContact(null);
    expectDetail(await limited.call('POST', '', { body: withoutCompany }), 403, COMPANY_FORBIDDEN);
    expectDetail(
      await limited.call('PATCH', `/${inAcme.id}`, { body: { company_id: globex } }),
      403,
      COMPANY_FORBIDDEN,
    );
    expectDetail(
      await limited.call('PATCH', `/${inAcme.id}`, { body: { company_id: null } }),
      403,
      COMPANY_FORBIDDEN,
    );
    // Nothing moved, nothing was written.
    expect((await admin.call('GET', `/${inAcme.id}`)).body.company_id).toBe(acme);
    expect((await admin.call('GET', `/${inGlobex.id}`)).body).toEqual(inGlobex);
  });

  it('leaves an unlimited client every company', async () => {
    const { admin, globex, inGlobex } = await limitedToAcme();
    expect((await admin.call<FaceContact[]>('GET', `?company_id=${globex}`)).body).toEqual([inGlobex]);
  });
});
