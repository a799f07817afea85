// Seed 000 (patient contacts), example by example, plus the rules around it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith, type TestTenant } from '../../../test/harness.ts';
import { patient } from '../../../test/factories.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Contact } from './contacts.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

const ROBERT = {
  firstName: 'Robert',
  lastName: 'Smith',
  relationship: 'SPOUSE',
  phone: '+14155550001',
  email: 'robert.smith@example.com',
  isPrimary: true,
};

async function setup(tenant?: TestTenant) {
  const t = tenant ?? (await kith.newTenant());
  const token = await t.token();
  const root = `/${t.name}/live`;
  const newPatient = async () => {
    const res = await kith.request<{ id: string }>('POST', `${root}/patients`, { token, body: patient() });
    expect(res.status, res.text).toBe(201);
    return res.body.id;
  };
  const base = (pid: string) => `${root}/patients/${pid}/contacts`;
  return {
    tenant: t,
    token,
    root,
    newPatient,
    create: (pid: string, body: unknown) => kith.request<Contact>('POST', base(pid), { token, body }),
    list: (pid: string, query = '') =>
      kith.request<{ data: Contact[]; metaInfo: Record<string, unknown> }>('GET', `${base(pid)}${query}`, {
        token,
      }),
    get: (pid: string, id: string) => kith.request<Contact>('GET', `${base(pid)}/${id}`, { token }),
    patch: (pid: string, id: string, body: unknown) =>
      kith.request<Contact>('PATCH', `${base(pid)}/${id}`, { token, body }),
    remove: (pid: string, id: string) => kith.request('DELETE', `${base(pid)}/${id}`, { token }),
  };
}

describe('seed 000: patient contacts', () => {
  it('POST creates a contact with the documented fields (201)', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const res = await s.create(pid, ROBERT);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ ...ROBERT, patientId: pid });
    expect(res.body.id).toEqual(expect.any(String));
  });

  it('GET lists them as {data, metaInfo}, page from 0, size 20 by default', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const created = (await s.create(pid, ROBERT)).body;
    const res = await s.list(pid);
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({ id: created.id, patientId: pid, ...ROBERT });
    expect(res.body.metaInfo).toEqual({
      page: 0,
      pageSize: 20,
      totalElements: 1,
      numberOfElements: 1,
      totalPages: 1,
      firstPage: true,
      lastPage: true,
    });
    for (let i = 0; i < 3; i++)
      await s.create(pid, { ...ROBERT, firstName: `Kid${i}`, relationship: 'CHILD', isPrimary: false });
    const page1 = await s.list(pid, '?page=1&size=2');
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.metaInfo).toMatchObject({
      page: 1,
      pageSize: 2,
      totalElements: 4,
      totalPages: 2,
      lastPage: true,
    });
    expect((await s.list(pid, '?size=101')).status).toBe(400);
  });

  it('GET by id returns the single record; PATCH updates only what is sent', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const created = (await s.create(pid, ROBERT)).body;
    expect((await s.get(pid, created.id)).body).toEqual(created);
    const patched = await s.patch(pid, created.id, { phone: '+14155550002' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ ...ROBERT, phone: '+14155550002', version: 2 });
  });

  it('requires firstName, lastName and relationship on create, naming each', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const res = await s.create(pid, { phone: '+14155550001' });
    expect(res.status).toBe(400);
    const fields = (res.body as unknown as Array<{ details: { fields: Array<{ field: string }> } }>)[0]!
      .details.fields;
    expect(fields.map((f) => f.field).sort()).toEqual(['firstName', 'lastName', 'relationship']);
  });

  it("answers a contact of another patient through this path with 404, and an unknown patient's path too", async () => {
    const s = await setup();
    const [p1, p2] = [await s.newPatient(), await s.newPatient()];
    const c = (await s.create(p1, ROBERT)).body;
    for (const res of [
      await s.get(p2, c.id),
      await s.patch(p2, c.id, { notes: 'x' }),
      await s.remove(p2, c.id),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await s.get(p1, c.id)).body.notes).toBeNull();
    expect((await s.list('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await s.create('00000000-0000-4000-8000-000000000000', ROBERT)).status).toBe(404);
  });

  it('keeps at most one primary contact per patient, switching in one transaction', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const first = (await s.create(pid, ROBERT)).body;
    const second = (await s.create(pid, { ...ROBERT, firstName: 'Rita', relationship: 'SIBLING' })).body;
    expect(second.isPrimary).toBe(true);
    expect((await s.get(pid, first.id)).body.isPrimary).toBe(false);
    await s.patch(pid, first.id, { isPrimary: true });
    const list = (await s.list(pid)).body.data;
    expect(list.filter((c) => c.isPrimary).map((c) => c.id)).toEqual([first.id]);
    const other = await s.newPatient();
    expect((await s.create(other, ROBERT)).body.isPrimary).toBe(true);
    expect((await s.get(pid, first.id)).body.isPrimary).toBe(true);
  });

  it('DELETE removes the contact from the patient (204); deleting the patient hides all its contacts', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const a = (await s.create(pid, ROBERT)).body;
    const b = (await s.create(pid, { ...ROBERT, firstName: 'Bo', isPrimary: false })).body;
    expect((await s.remove(pid, a.id)).status).toBe(204);
    expect((await s.get(pid, a.id)).status).toBe(404);
    expect((await s.list(pid)).body.data.map((c) => c.id)).toEqual([b.id]);
    expect((await kith.request('DELETE', `${s.root}/patients/${pid}`, { token: s.token })).status).toBe(204);
    expect((await s.list(pid)).status).toBe(404);
    const directory = await kith.request<{ data: Contact[] }>('GET', `${s.root}/contacts?patientId=${pid}`, {
      token: s.token,
    });
    expect(directory.body.data).toEqual([]);
    const restore = await kith.request('POST', `${s.root}/contacts/${b.id}/restore`, { token: s.token });
    expect(restore.status).toBe(409);
  });

  it('a contact of a patient appears in the directory with its patientId', async () => {
    const s = await setup();
    const pid = await s.newPatient();
    const c = (await s.create(pid, ROBERT)).body;
    const res = await kith.request<{ data: Contact[] }>('GET', `${s.root}/contacts?patientId=${pid}`, {
      token: s.token,
    });
    expect(res.body.data.map((x) => [x.id, x.patientId])).toEqual([[c.id, pid]]);
  });
});

const P = '00000000-0000-4000-8000-000000000000';
for (const [method, suffix, permission] of [
  ['GET', '', 'contacts:read'],
  ['POST', '', 'contacts:create'],
  ['GET', `/${P}`, 'contacts:read'],
  ['PATCH', `/${P}`, 'contacts:update'],
  ['DELETE', `/${P}`, 'contacts:delete'],
] as const) {
  securitySuite(() => kith, {
    method,
    path: (t, i) => `/${t}/${i}/patients/${P}/contacts${suffix}`,
    permission,
    instanceScoped: true,
    tenantScoped: true,
    body: method === 'POST' || method === 'PATCH' ? ROBERT : undefined,
  });
}
