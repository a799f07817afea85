import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { securitySuite } from '../../../test/security-suite.ts';
import type { Change } from '../../platform/writes.ts';
import type { Patient } from './patients.schemas.ts';
import {
  ISO_MS,
  UUID,
  fieldsOf,
  patient,
  withoutDate,
  workspaceIn,
  type ErrorBody,
} from './patients.fixtures.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());
const workspace = () => workspaceIn(kith);

describe('creating patients', () => {
  it("fills Welkin's defaults: every field present, null or empty unless set", async () => {
    const { tenant, call } = await workspace();
    const res = await call('POST', '/patients', { body: { firstName: 'Foo', lastName: 'Bar' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"1"');
    const client = await kith.database.db
      .selectFrom('api_clients')
      .select('id')
      .where('key', '=', tenant.client.apiClient)
      .executeTakeFirstOrThrow();
    const actor = { id: client.id, name: `API_CLIENT:${tenant.client.apiClient}` };
    const body = res.body;
    expect(body.id).toMatch(UUID);
    expect(body.createdAt).toMatch(ISO_MS);
    expect(body.updatedAt).toBe(body.createdAt);
    expect(body).toStrictEqual({
      ...{ id: body.id, externalGuid: null, externalId: null, mrn: null, nric: null, accessCode: null },
      ...{ createdAt: body.createdAt, updatedAt: body.createdAt, createdBy: actor.id, updatedBy: actor.id },
      ...{ createdByName: actor.name, updatedByName: actor.name, firstName: 'Foo', lastName: 'Bar' },
      ...{ middleName: null, birthDate: null, gender: 'UNKNOWN', maritalStatus: 'UKN' },
      ...{ primaryLanguage: 'ENGLISH', secondaryLanguage: null, email: null, secondaryEmail: null },
      ...{ phone: null, secondaryPhone: null, primaryPhoneCapabilities: [], secondaryPhoneCapabilities: [] },
      ...{ preferableInstancePhoneId: null, country: null, state: null, city: null, zip: null },
      ...{ addressLine1: null, addressLine2: null, timezone: null, patientTerritories: [] },
      ...{ careTeamMembers: [], patientPrograms: [], careTeam: [], cadence: [], patientRegion: null },
      ...{ patientRegionTitle: null, patientTerritory: null, pointOfContact: null },
    });
  });

  it('accepts every documented field, normalising dates, GUIDs and the care team', async () => {
    const { create } = await workspace();
    const guid = randomUUID().toUpperCase();
    const [first, second] = [randomUUID(), randomUUID()];
    const full = {
      ...{ middleName: '', gender: 'FEMALE', email: 'foo@example.com', phone: '+14155550001' },
      ...{ mrn: 'MRN-1', externalId: 'ext-1', externalGuid: guid, secondaryEmail: '', secondaryPhone: null },
      ...{ country: 'US', state: 'Alabama', city: 'Mobile', zip: '36602', addressLine1: '1 Main St' },
      ...{ addressLine2: '', timezone: 'America/Chicago', maritalStatus: 'M', primaryLanguage: 'SPANISH' },
      ...{ secondaryLanguage: 'ENGLISH', nric: 'S1234567D' },
      patientTerritories: [{ name: 'east-coast', territories: ['Connecticut', 'Maine'] }],
      careTeam: [{ id: first }, { id: second }, { id: first, pointOfContact: true }],
    };
    const body = await create({ ...full, birthDate: '2022-08-09T00:00:00.000Z' });
    expect(body).toMatchObject({ ...full, careTeam: [], externalGuid: guid.toLowerCase() });
    expect(body.birthDate).toBe('2022-08-09T00:00:00.000Z');
    expect(body.careTeamMembers).toEqual([
      { id: first, pointOfContact: true },
      { id: second, pointOfContact: false },
    ]);
    expect(body.pointOfContact).toEqual({ id: first, pointOfContact: true });
    expect(body).toMatchObject({ patientRegion: 'east-coast', patientTerritory: 'Connecticut' });

    // A plain date, and a datetime with an offset: the calendar date as written, at midnight UTC.
    expect((await create({ birthDate: '1990-05-01' })).birthDate).toBe('1990-05-01T00:00:00.000Z');
    expect((await create({ birthDate: '1990-05-01T23:30:00-05:00' })).birthDate).toBe(
      '1990-05-01T00:00:00.000Z',
    );
    // An empty identifier means none, so two patients without one never collide.
    expect((await create({ mrn: '' })).mrn).toBeNull();
    expect((await create({ mrn: '' })).mrn).toBeNull();
  });

  it('ignores the read-only fields of a patient object sent back, and rejects unknown fields by name', async () => {
    const { call, create } = await workspace();
    const original = await create({ mrn: 'A-1' });
    const copy = await create({
      ...original,
      mrn: 'A-2',
      careTeamMembers: [{ id: 'u1', pointOfContact: true }],
    });
    expect(copy.id).not.toBe(original.id);
    expect(copy.careTeamMembers).toEqual([{ id: 'u1', pointOfContact: true }]);

    const res = await call('POST', '/patients', {
      body: patient({ color: 'red', patientTerritories: [{ name: 'x', territories: [], extra: 1 }] }),
    });
    expect(res.status).toBe(400);
    expect((res.body as unknown as ErrorBody)[0]!.errorCode).toBe('VALIDATION_ERROR');
    expect(fieldsOf(res)).toEqual(['color', 'patientTerritories[0].extra']);
  });

  it('rejects missing, blank or oversized names and malformed fields, naming each', async () => {
    const { call } = await workspace();
    const missing = await call('POST', '/patients', { body: { lastName: 'Bar' } });
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing)).toEqual(['firstName']);

    const res = await call('POST', '/patients', {
      body: {
        ...{ firstName: '   ', lastName: 'x'.repeat(201), gender: 'X', email: 'not-an-email' },
        ...{ phone: '0123', externalGuid: 'not-a-guid', city: 'c'.repeat(101) },
        patientTerritories: Array.from({ length: 51 }, () => ({ name: 'r', territories: [] })),
      },
    });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(
      [
        'city',
        'email',
        'externalGuid',
        'firstName',
        'gender',
        'lastName',
        'patientTerritories',
        'phone',
      ].sort(),
    );

    const semantic = await call('POST', '/patients', {
      body: patient({ birthDate: '2022-02-30', timezone: 'Mars/Olympus_Mons' }),
    });
    expect(semantic.status).toBe(400);
    expect(fieldsOf(semantic)).toEqual(['birthDate', 'timezone']);
  });
});

describe('reading patients', () => {
  it('finds a patient by id, externalId, externalGuid and mrn, with its ETag', async () => {
    const { call, create } = await workspace();
    const guid = randomUUID();
    const created = await create({ externalId: 'E-1', externalGuid: guid, mrn: 'M-1' });
    for (const path of [
      `/patients/${created.id}`,
      `/patients/${created.id}?type=ID`,
      '/patients/E-1?type=EID',
      `/patients/${guid.toUpperCase()}?type=EGUID`,
      '/patients/M-1?type=MRN',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual(created);
      expect(res.headers.get('etag')).toBe('"1"');
    }
    expect((await call('GET', '/patients/M-1')).status).toBe(404);
    expect((await call('GET', '/patients/E-1?type=MRN')).status).toBe(404);
    expect((await call('GET', `/patients/${created.id}?type=NAME`)).status).toBe(400);
  });

  it("answers another tenant's or instance's patient exactly like an unknown one", async () => {
    const mine = await workspace();
    const theirs = await workspace();
    const created = await theirs.create({ mrn: 'SHARED' });
    const sandbox = await kith.request<Patient>('POST', `/${mine.tenant.name}/sandbox/patients`, {
      token: mine.token,
      body: patient({ mrn: 'SANDBOX' }),
    });
    expect(sandbox.status).toBe(201);
    const unknown = await mine.call('GET', `/patients/${randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect((unknown.body as unknown as ErrorBody)[0]!.errorCode).toBe('NOT_FOUND');
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/patients/${created.id}`],
      ['GET', `/patients/${sandbox.body.id}`],
      ['GET', '/patients/SHARED?type=MRN'],
      ['GET', '/patients/SANDBOX?type=MRN'],
      ['PATCH', `/patients/${created.id}`, { firstName: 'Mallory' }],
      ['PATCH', `/patients/${sandbox.body.id}`, { firstName: 'Mallory' }],
      ['DELETE', `/patients/${created.id}`],
      ['DELETE', `/patients/${sandbox.body.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await mine.call(method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(withoutDate(res.body)).toEqual(withoutDate(unknown.body));
    }
    // Untouched by all of that.
    expect((await theirs.call('GET', `/patients/${created.id}`)).body).toEqual(created);
  });
});

describe('changing patients', () => {
  it('patches only the fields given: null clears, or restores a default; names cannot be cleared', async () => {
    const { call, create } = await workspace();
    const created = await create({ middleName: 'Q', gender: 'MALE', email: 'a@b.co', mrn: 'M-9' });
    kith.clock.advance(1000);
    try {
      const res = await call('PATCH', `/patients/${created.id}`, {
        body: { firstName: 'Baz', middleName: null, gender: null, email: '', mrn: null },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe('"2"');
      expect(res.body).toEqual({
        ...created,
        ...{ firstName: 'Baz', middleName: null, gender: 'UNKNOWN', email: '', mrn: null },
        updatedAt: res.body.updatedAt,
      });
      expect(Date.parse(res.body.updatedAt) - Date.parse(created.updatedAt)).toBeGreaterThanOrEqual(1000);
      expect((await call('GET', `/patients/${created.id}`)).body).toEqual(res.body);

      for (const body of [{ firstName: null }, { lastName: '' }, { lastName: ' ' }]) {
        const bad = await call('PATCH', `/patients/${created.id}`, { body });
        expect(bad.status).toBe(400);
        expect(fieldsOf(bad)).toEqual(Object.keys(body));
      }
      // Sending back what was read changes nothing: same version, same updatedAt.
      const same = await call('PATCH', `/patients/${created.id}`, { body: res.body });
      expect(same.status).toBe(200);
      expect(same.headers.get('etag')).toBe('"2"');
      expect(same.body).toEqual(res.body);
    } finally {
      kith.clock.reset();
    }
  });

  it('deletes by another identifier when ?type says which', async () => {
    const { call, create } = await workspace();
    const guid = randomUUID();
    const byGuid = await create({ externalGuid: guid });
    const byMrn = await create({ mrn: 'DEL-1' });
    expect((await call('DELETE', `/patients/${guid}?type=MRN`)).status).toBe(404);
    expect((await call('DELETE', `/patients/${guid.toUpperCase()}?type=EGUID`)).status).toBe(204);
    expect((await call('DELETE', '/patients/DEL-1?type=MRN')).status).toBe(204);
    for (const { id } of [byGuid, byMrn]) expect((await call('GET', `/patients/${id}`)).status).toBe(404);
  });

  it('deletes a patient and its contacts in one transaction; the patient then 404s everywhere', async () => {
    const { tenant, call, create } = await workspace();
    const doomed = await create({ mrn: 'GONE' });
    const other = await create();
    const tenantRow = await kith.services.tenants.getTenant(tenant.name);
    const live = (await kith.services.tenants.listInstances(tenantRow.id)).find((i) => i.name === 'live')!;
    // Written straight to the table, so this pins the patient side of the cascade whatever the contacts API does.
    const contactIds = [randomUUID(), randomUUID(), randomUUID()];
    const owners = [doomed.id, doomed.id, other.id];
    for (const [i, id] of contactIds.entries()) {
      await kith.database.db
        .insertInto('contacts')
        .values({
          ...{ id, instance_id: live.id, patient_id: owners[i], is_primary: kith.database.bool(i === 0) },
          ...{ sort_name: 'c', sort_last: 'c', sort_company: '', doc: '{}', version: 1 },
          ...{ created_at: doomed.createdAt, updated_at: doomed.createdAt },
          ...(kith.database.engine === 'postgres' ? { search: sql`''::tsvector` } : {}),
        })
        .execute();
    }
    const commits: Change[][] = [];
    kith.services.writes.onCommit((ctx, changes) => {
      if (ctx.scope.tenant === tenant.name) commits.push([...changes]);
    });

    const res = await call('DELETE', `/patients/${doomed.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    const byKey = (x: Change, y: Change) => `${x.resource} ${x.id}`.localeCompare(`${y.resource} ${y.id}`);
    expect(commits).toHaveLength(1);
    const expected: Change[] = [
      { resource: 'patient', id: doomed.id, action: 'deleted', after: null },
      ...contactIds
        .slice(0, 2)
        .map((id): Change => ({ resource: 'contact', id, action: 'deleted', after: null })),
    ];
    expect([...commits[0]!].sort(byKey)).toEqual(expected.sort(byKey));
    const contacts = await kith.database.db
      .selectFrom('contacts')
      .select(['id', 'deleted_at'])
      .where('id', 'in', contactIds)
      .execute();
    const deleted = new Set(contacts.filter((c) => c.deleted_at !== null).map((c) => c.id));
    expect([...deleted].sort()).toEqual(contactIds.slice(0, 2).sort());

    for (const [method, path] of [
      ['GET', `/patients/${doomed.id}`],
      ['GET', '/patients/GONE?type=MRN'],
      ['PATCH', `/patients/${doomed.id}`],
      ['DELETE', `/patients/${doomed.id}`],
    ] as const) {
      const again = await call(method, path, method === 'PATCH' ? { body: { firstName: 'X' } } : {});
      expect(again.status, `${method} ${path}`).toBe(404);
    }
    const list = await call<{ data: Patient[] }>('GET', '/patients');
    expect(list.body.data.map((p) => p.id)).toEqual([other.id]);
    const filtered = await call<{ content: Patient[] }>('POST', '/by-filter/patients', { body: {} });
    expect(filtered.body.content.map((p) => p.id)).toEqual([other.id]);
    // Its identifiers are free again.
    expect((await create({ mrn: 'GONE' })).mrn).toBe('GONE');
  });
});

// One id for all calls: the suite builds the path twice and compares the two.
const someId = randomUUID();
const somePatient = (t: string, i: string) => `/${t}/${i}/patients/${someId}`;
const secured = [
  {
    method: 'POST',
    path: (t: string, i: string) => `/${t}/${i}/patients`,
    permission: 'patients:create',
    body: patient(),
  },
  { method: 'GET', path: somePatient, permission: 'patients:read' },
  { method: 'PATCH', path: somePatient, permission: 'patients:update', body: { firstName: 'X' } },
  { method: 'DELETE', path: somePatient, permission: 'patients:delete' },
  { method: 'GET', path: (t: string, i: string) => `/${t}/${i}/patients`, permission: 'patients:read' },
  {
    method: 'POST',
    path: (t: string, i: string) => `/${t}/${i}/by-filter/patients`,
    permission: 'patients:read',
    body: {},
  },
] as const;
for (const route of secured)
  securitySuite(() => kith, { ...route, instanceScoped: true, tenantScoped: true });
