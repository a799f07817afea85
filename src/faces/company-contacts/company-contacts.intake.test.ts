// Public contact intake: off by default, opened per instance by an administrator (the CLI), public only for
// what the seed marks public, audited as ANONYMOUS, at the scoped path and at the bare path of
// KITH_PUBLIC_INTAKE_INSTANCE.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomName, startKith, type Kith, type TestTenant } from '../../../test/harness.ts';
import { loadConfig } from '../../config.ts';
import { INTAKE_CACHE_MS, TenantsService } from '../../modules/tenants/tenants.service.ts';
import type { AuditItem } from '../../modules/audit/audit.schemas.ts';
import { expectDetail, faceClient, MOUNTS, seedContact } from './company-contacts.fixtures.ts';
import type { FaceContact } from './company-contacts.schemas.ts';

let kith: Kith;
/** A node whose bare path serves the intake of `bareTenant`/live. */
let bareNode: Kith;
const bareTenant = randomName();

beforeAll(async () => {
  kith = await startKith();
  bareNode = await startKith({
    dataDir: kith.config.dataDir,
    databaseUrl: kith.config.databaseUrl,
    publicIntakeInstance: { tenant: bareTenant, instance: 'live' },
  });
});
afterAll(async () => {
  await bareNode.app.close();
  await bareNode.services.rateLimits.close();
  await bareNode.database.close();
  await kith.close();
});

/** A tenant (with a full-access client) and anonymous calls to its `live` instance's scoped path. */
async function intake(tenant?: TestTenant) {
  const t = tenant ?? (await kith.newTenant());
  const base = MOUNTS.scoped(t.name, 'live');
  const anonymous = <T = FaceContact>(method: string, suffix = '', body?: unknown) =>
    kith.request<T>(method, `${base}${suffix}`, { body });
  const open = (on = true) => kith.services.tenants.setPublicIntake(t.name, 'live', on);
  return { tenant: t, base, anonymous, open };
}

describe('public contact intake', () => {
  it('is off by default: the public routes need a token like the rest', async () => {
    const { anonymous } = await intake();
    const id = randomUUID();
    for (const [method, suffix, body] of [
      ['GET', `/${id}`],
      ['POST', '', seedContact(null)],
      ['PATCH', `/${id}`, { designation: 'x' }],
    ] as const) {
      const res = await anonymous(method, suffix, body);
      expectDetail(res, 401, 'Not authenticated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('once opened, lets anyone create, read and update a contact in that instance', async () => {
    const { tenant, anonymous, open } = await intake();
    await open();
    const created = await anonymous('POST', '', seedContact(null));
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ first_name: 'John', phone: '+91-9876543210' });
    expect((await anonymous('GET', `/${created.body.id}`)).body).toEqual(created.body);
    const patched = await anonymous('PATCH', `/${created.body.id}`, {
      designation: 'Head of Sales',
      is_primary: true,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ designation: 'Head of Sales', is_primary: true });
    // The contact is the instance's: a client with a token sees it at either path.
    const face = await faceClient(kith, 'bare', { tenant });
    expect((await face.call('GET', `/${created.body.id}`)).body).toEqual(patched.body);
  });

  it('gives no more than the seed lists: no list, no delete, no other instance', async () => {
    const { tenant, anonymous, open } = await intake();
    await open();
    const face = await faceClient(kith, 'scoped', { tenant });
    const john = await face.create(seedContact(await face.company()));
    expectDetail(await anonymous('GET', `?company_id=${john.company_id}`), 401, 'Not authenticated');
    expectDetail(await anonymous('DELETE', `/${john.id}`), 401, 'Not authenticated');
    const sandbox = MOUNTS.scoped(tenant.name, 'sandbox');
    expectDetail(await kith.request('GET', `${sandbox}/${john.id}`), 401, 'Not authenticated');
    expectDetail(await kith.request('POST', sandbox, { body: seedContact(null) }), 401, 'Not authenticated');
    expectDetail(
      await kith.request('GET', `${MOUNTS.scoped(randomName(), 'live')}/${john.id}`),
      401,
      'Not authenticated',
    );
    // The directory's own routes stay closed.
    expect((await kith.request('GET', `/${tenant.name}/live/contacts/${john.id}`)).status).toBe(401);
  });

  it("does not show anonymous callers a patient's contacts", async () => {
    const { tenant, anonymous, open } = await intake();
    await open();
    const token = await tenant.token();
    const patient = await kith.request<{ id: string }>('POST', `/${tenant.name}/live/patients`, {
      token,
      body: { firstName: 'Pat', lastName: 'Ient' },
    });
    expect(patient.status, patient.text).toBe(201);
    const relative = await kith.request<{ id: string }>(
      'POST',
      `/${tenant.name}/live/patients/${patient.body.id}/contacts`,
      {
        token,
        body: { firstName: 'Rel', lastName: 'Ative', relationship: 'SPOUSE', email: 'rel@example.com' },
      },
    );
    expect(relative.status, relative.text).toBe(201);
    expectDetail(await anonymous('GET', `/${relative.body.id}`), 404, 'Contact not found');
    expectDetail(
      await anonymous('PATCH', `/${relative.body.id}`, { designation: 'x' }),
      404,
      'Contact not found',
    );
    const face = await faceClient(kith, 'scoped', { tenant, token });
    expect((await face.call('GET', `/${relative.body.id}`)).status).toBe(200);
  });

  it('records anonymous reads and writes as ANONYMOUS in the audit log', async () => {
    const { tenant, anonymous, open } = await intake();
    await open();
    const created = await anonymous('POST', '', seedContact(null));
    await anonymous('GET', `/${created.body.id}`);
    await anonymous('PATCH', `/${created.body.id}`, { designation: 'CFO' });
    await kith.services.audit.flush();
    const audit = await kith.request<{ data: AuditItem[] }>(
      'GET',
      `/${tenant.name}/admin/audit-data?resourceId=${created.body.id}`,
      { token: await tenant.token() },
    );
    expect(audit.status, audit.text).toBe(200);
    const rows = audit.body.data.map((r) => [
      r.action,
      r.subjectActor,
      r.subjectUserId,
      r.subjectFullName,
      r.instance,
    ]);
    expect(rows.sort()).toEqual(
      [
        ['created', 'ANONYMOUS', 'anonymous', 'ANONYMOUS', 'live'],
        ['read', 'ANONYMOUS', 'anonymous', 'ANONYMOUS', 'live'],
        ['updated', 'ANONYMOUS', 'anonymous', 'ANONYMOUS', 'live'],
      ].sort(),
    );
  });

  it('ignores Idempotency-Key from anonymous callers, who share one identity', async () => {
    const { base, open } = await intake();
    await open();
    const send = () =>
      kith.request<FaceContact>('POST', base, {
        body: seedContact(null),
        headers: { 'idempotency-key': 'k-1' },
      });
    const [first, second] = [await send(), await send()];
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
  });

  it('closes again, at once on this node and within INTAKE_CACHE_MS when closed elsewhere', async () => {
    const { tenant, anonymous, open } = await intake();
    await open();
    expect((await anonymous('POST', '', seedContact(null))).status).toBe(201);
    await open(false);
    expect((await anonymous('POST', '', seedContact(null))).status).toBe(401);

    await open();
    expect((await anonymous('POST', '', seedContact(null))).status).toBe(201);
    // Another node (or the CLI) closes it: this node trusts its copy for a few seconds, then looks again.
    await new TenantsService(kith.database, kith.clock, kith.services.audit).setPublicIntake(
      tenant.name,
      'live',
      false,
    );
    expect((await anonymous('POST', '', seedContact(null))).status).toBe(201);
    kith.clock.advance(INTAKE_CACHE_MS + 1);
    expect((await anonymous('POST', '', seedContact(null))).status).toBe(401);
  });

  it('serves KITH_PUBLIC_INTAKE_INSTANCE at the bare path, only while its intake is on', async () => {
    const { services } = bareNode;
    await services.tenants.createTenant(bareTenant);
    await services.tenants.createInstance(bareTenant, 'live');
    await services.tenants.createInstance(bareTenant, 'sandbox');
    const send = () => bareNode.request<FaceContact>('POST', '/contacts', { body: seedContact(null) });
    expectDetail(await send(), 401, 'Not authenticated');
    await services.tenants.setPublicIntake(bareTenant, 'sandbox', true);
    expectDetail(await send(), 401, 'Not authenticated');
    await services.tenants.setPublicIntake(bareTenant, 'live', true);
    const created = await send();
    expect(created.status, created.text).toBe(201);
    expect((await bareNode.request('GET', `/contacts/${created.body.id}`)).status).toBe(200);
    expect((await bareNode.request('GET', `/contacts?company_id=${randomUUID()}`)).status).toBe(401);
    // It is that instance's contact.
    const client = await services.clients.create({
      tenant: bareTenant,
      instances: ['live'],
      policy: 'full-access',
    });
    const token = await bareNode.tokenFor({ apiClient: client.apiClient, secret: client.secret });
    const seen = await bareNode.request('GET', `${MOUNTS.scoped(bareTenant, 'live')}/${created.body.id}`, {
      token,
    });
    expect(seen.status).toBe(200);
    // A node without the setting keeps the bare path closed.
    expectDetail(
      await kith.request('POST', '/contacts', { body: seedContact(null) }),
      401,
      'Not authenticated',
    );
  });
});

describe('KITH_PUBLIC_INTAKE_INSTANCE', () => {
  it('takes tenant/instance, is unset by default, and stops start-up on anything else', () => {
    expect(loadConfig({}).publicIntakeInstance).toBeUndefined();
    expect(loadConfig({ KITH_PUBLIC_INTAKE_INSTANCE: 'acme/live' }).publicIntakeInstance).toEqual({
      tenant: 'acme',
      instance: 'live',
    });
    for (const bad of ['acme', 'acme/', '/live', 'acme/live/x', 'Acme/live']) {
      expect(() => loadConfig({ KITH_PUBLIC_INTAKE_INSTANCE: bad }), bad).toThrow(
        /KITH_PUBLIC_INTAKE_INSTANCE/,
      );
    }
  });
});

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `kith ARGS…` as an operator would, on this test's database. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('KITH_')));
  const database = kith.config.databaseUrl
    ? { KITH_DATABASE_URL: kith.config.databaseUrl }
    : { KITH_DATA_DIR: kith.config.dataDir };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kith.js'), ...args],
      { cwd: ROOT, env: { ...env, ...database }, timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('kith admin instance intake', () => {
  it(
    'opens and closes an instance’s intake; refuses an unknown instance or state',
    { timeout: 120_000 },
    async () => {
      const { tenant, anonymous } = await intake();
      const on = await cli('admin', 'instance', 'intake', tenant.name, 'live', 'on', '--json');
      expect(on.stderr).toBe('');
      expect(JSON.parse(on.stdout)).toEqual({ tenant: tenant.name, instance: 'live', publicIntake: true });
      expect((await anonymous('POST', '', seedContact(null))).status).toBe(201);

      const off = await cli('admin', 'instance', 'intake', tenant.name, 'live', 'off');
      expect(off.stdout).toBe(`Public contact intake of ${tenant.name}/live: off\n`);
      kith.clock.advance(INTAKE_CACHE_MS + 1);
      expect((await anonymous('POST', '', seedContact(null))).status).toBe(401);

      const unknown = await cli('admin', 'instance', 'intake', tenant.name, 'nosuch', 'on');
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toMatch(/NOT_FOUND.*nosuch/);
      const bad = await cli('admin', 'instance', 'intake', tenant.name, 'live', 'maybe');
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/on or off/);
    },
  );
});
