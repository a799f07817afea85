import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName, startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import { INTAKE_CACHE_MS, TenantsService } from './tenants.service.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

describe('tenants and instances', () => {
  it('lists only the instances granted to the calling client', async () => {
    const tenant = await kith.newTenant({ instances: ['live', 'sandbox', 'staging'] });
    const client = await tenant.addClient({ instances: ['staging', 'live'] });
    const res = await kith.request<{ data: Array<{ instance: string; tenant: string }> }>(
      'GET',
      `/${tenant.name}/admin/instances`,
      { token: client.token },
    );
    expect(res.status).toBe(200);
    expect(res.body.data.map((i) => i.instance)).toEqual(['live', 'staging']);
    expect(res.body.data.every((i) => i.tenant === tenant.name)).toBe(true);
  });

  it('describes one instance', async () => {
    const tenant = await kith.newTenant();
    const res = await kith.request<{ tenant: string; instance: string; createdAt: string }>(
      'GET',
      `/${tenant.name}/sandbox`,
      { token: await tenant.token() },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant: tenant.name, instance: 'sandbox' });
    expect(Date.parse(res.body.createdAt)).not.toBeNaN();
  });

  it('rejects bad and reserved names, and duplicates', async () => {
    const { tenants } = kith.services;
    for (const bad of ['A', 'x', '-lead', 'has space', 'a'.repeat(64), 'auth', 'docs', 'health']) {
      await expect(tenants.createTenant(bad), bad).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    }
    const name = randomName();
    await tenants.createTenant(name);
    await expect(tenants.createTenant(name)).rejects.toMatchObject({ code: 'CONFLICT' });
    await tenants.createInstance(name, 'live');
    await expect(tenants.createInstance(name, 'live')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(tenants.createInstance(name, 'admin')).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(tenants.createInstance(randomName(), 'live')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a client for instances the tenant does not have, or an unknown policy', async () => {
    const tenant = await kith.newTenant();
    await expect(
      kith.services.clients.create({
        tenant: tenant.name,
        instances: ['live', 'prod'],
        policy: 'full-access',
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', details: { instances: ['prod'] } });
    await expect(
      kith.services.clients.create({ tenant: tenant.name, instances: ['live'], policy: 'no-such-policy' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A custom policy is stored only together with a client that was created.
    const readers = {
      name: 'readers',
      grants: [{ resource: 'contacts' as const, actions: ['read' as const] }],
    };
    await expect(
      kith.services.clients.create({ tenant: tenant.name, instances: ['prod'], policy: readers }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      kith.services.clients.create({ tenant: tenant.name, instances: ['live'], policy: 'readers' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      kith.services.clients.create({
        tenant: tenant.name,
        instances: ['live'],
        policy: { ...readers, name: 'read-only' },
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('a read-only client may read but its policy is enforced per permission', async () => {
    const tenant = await kith.newTenant();
    const reader = await tenant.addClient({ policy: 'read-only' });
    expect((await kith.request('GET', `/${tenant.name}/live`, { token: reader.token })).status).toBe(200);
    const none = await tenant.addClient({ policy: { name: 'nothing', grants: [] } });
    expect((await kith.request('GET', `/${tenant.name}/live`, { token: none.token })).status).toBe(403);
  });
});

describe('public contact intake', () => {
  it('is closed by default, opens and closes per instance, and names an unknown instance', async () => {
    const { tenants } = kith.services;
    const tenant = await kith.newTenant();
    expect(await tenants.publicIntakeScope(tenant.name, 'live')).toBeUndefined();
    await tenants.setPublicIntake(tenant.name, 'live', true);
    const scope = await tenants.publicIntakeScope(tenant.name, 'live');
    const live = (await tenants.listInstances((await tenants.getTenant(tenant.name)).id)).find(
      (i) => i.name === 'live',
    );
    expect(scope).toEqual({
      tenantId: live!.tenantId,
      tenant: tenant.name,
      instanceId: live!.id,
      instance: 'live',
      phoneRegion: 'US',
    });
    expect(await tenants.publicIntakeScope(tenant.name, 'sandbox')).toBeUndefined();
    await tenants.setPublicIntake(tenant.name, 'live', false);
    expect(await tenants.publicIntakeScope(tenant.name, 'live')).toBeUndefined();
    await expect(tenants.setPublicIntake(tenant.name, 'nosuch', true)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(tenants.setPublicIntake(randomName(), 'live', true)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await tenants.publicIntakeScope(randomName(), 'live')).toBeUndefined();
  });

  it("trusts this node's copy for INTAKE_CACHE_MS of the clock", async () => {
    const tenant = await kith.newTenant();
    const elsewhere = new TenantsService(kith.database, kith.clock, kith.services.audit);
    expect(await kith.services.tenants.publicIntakeScope(tenant.name, 'live')).toBeUndefined();
    await elsewhere.setPublicIntake(tenant.name, 'live', true);
    expect(await kith.services.tenants.publicIntakeScope(tenant.name, 'live')).toBeUndefined();
    kith.clock.advance(INTAKE_CACHE_MS - 1000);
    expect(await kith.services.tenants.publicIntakeScope(tenant.name, 'live')).toBeUndefined();
    kith.clock.advance(1001);
    expect(await kith.services.tenants.publicIntakeScope(tenant.name, 'live')).toBeDefined();
  });
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t) => `/${t}/admin/instances`,
  permission: 'instances:read',
  instanceScoped: false,
  tenantScoped: true,
});

securitySuite(() => kith, {
  method: 'GET',
  path: (t, i) => `/${t}/${i}`,
  permission: 'instances:read',
  instanceScoped: true,
  tenantScoped: true,
});
