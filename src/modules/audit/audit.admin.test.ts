import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { workspace } from './audit.fixtures.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

describe('audit: administrators’ changes', () => {
  it('records creating, disabling, re-enabling and rotating a client, a custom policy and a default instance', async () => {
    const s = await workspace(kith, await kith.newTenant({ instances: ['live', 'sandbox'] }));
    const { clients } = kith.services;
    const name = s.tenant.name;
    const created = await clients.create({
      tenant: name,
      instances: ['live', 'sandbox'],
      policy: { name: 'readers', grants: [{ resource: 'contacts', actions: ['read'] }] },
    });
    await clients.setEnabled(name, created.apiClient, false);
    await clients.setEnabled(name, created.apiClient, true);
    await clients.rotateSecret(name, created.apiClient);
    await clients.setDefaultInstance(name, created.apiClient, 'sandbox');

    const rows = (await s.audit('?size=100')).data.reverse().filter((r) => r.subjectActor === 'SYSTEM');
    const mine = rows.filter((r) => r.resourceType === 'policy' || r.resourceId === created.apiClient);
    expect(mine.map((r) => [r.action, r.resourceType, r.resourceId, r.route])).toEqual([
      ['updated', 'policy', 'readers', 'kith admin client create --policy'],
      ['created', 'api_client', created.apiClient, 'kith admin client create'],
      ['updated', 'api_client', created.apiClient, 'kith admin client disable'],
      ['updated', 'api_client', created.apiClient, 'kith admin client enable'],
      ['updated', 'api_client', created.apiClient, 'kith admin client rotate-secret'],
      ['updated', 'api_client', created.apiClient, 'kith admin client set-default-instance'],
    ]);
    for (const row of mine) {
      expect(row).toMatchObject({
        subjectActor: 'SYSTEM',
        method: 'CLI',
        outcome: 'SUCCESS',
        instance: null,
      });
      expect(row.subjectFullName).toMatch(/^ADMIN:.+@.+/);
    }
    // The secret is never in the log.
    expect(JSON.stringify(rows)).not.toContain(created.secret);
    const [report] = await kith.services.audit.verify({ tenantId: await s.tenantId() });
    expect(report).toMatchObject({ ok: true, problem: null });
  });

  it('records creating the tenant and its instances, and opening and closing public intake', async () => {
    const s = await workspace(kith, await kith.newTenant({ instances: ['live', 'sandbox'] }));
    await kith.services.tenants.setPublicIntake(s.tenant.name, 'sandbox', true);
    await kith.services.tenants.setPublicIntake(s.tenant.name, 'sandbox', false);
    const rows = (await s.audit('?size=100')).data
      .reverse()
      .filter((r) => r.resourceType === 'tenant' || r.resourceType === 'instance');
    expect(rows.map((r) => [r.action, r.resourceType, r.resourceId, r.instance, r.route])).toEqual([
      ['created', 'tenant', s.tenant.name, null, 'kith admin tenant create'],
      ['created', 'instance', 'live', 'live', 'kith admin instance create'],
      ['created', 'instance', 'sandbox', 'sandbox', 'kith admin instance create'],
      ['updated', 'instance', 'sandbox', 'sandbox', 'kith admin instance intake on'],
      ['updated', 'instance', 'sandbox', 'sandbox', 'kith admin instance intake off'],
    ]);
    expect(rows.every((r) => r.subjectActor === 'SYSTEM' && r.method === 'CLI')).toBe(true);
  });

  it('records nothing when the change is refused', async () => {
    const s = await workspace(kith);
    await expect(kith.services.clients.setEnabled(s.tenant.name, 'no-such-client', false)).rejects.toThrow(
      /not found/,
    );
    await expect(
      kith.services.clients.setDefaultInstance(s.tenant.name, s.tenant.client.apiClient, 'nope'),
    ).rejects.toThrow(/not granted/);
    const rows = (await s.audit('?resourceType=api_client')).data;
    expect(rows.map((r) => r.route)).toEqual(['kith admin client create']);
  });
});
