// What keeps patient data consistent under conflicting and repeated writes: unique identifiers, If-Match,
// concurrent changes and Idempotency-Key retries.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { fieldsOf, patient, workspaceIn, type ErrorBody } from './patients.fixtures.ts';
import type { Patient } from './patients.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());
const workspace = () => workspaceIn(kith);

const codeOf = (body: unknown) => (body as ErrorBody)[0]!.errorCode;
type List = { data: Patient[]; metaInfo: { totalElements: number } };

describe('unique identifiers', () => {
  it('refuses a second patient with the same mrn, externalId or externalGuid, naming the field', async () => {
    const { tenant, token, call, create } = await workspace();
    const guid = randomUUID();
    const first = await create({ mrn: 'M-1', externalId: 'E-1', externalGuid: guid });
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ mrn: 'M-1' }, ['mrn']],
      [{ externalId: 'E-1' }, ['externalId']],
      [{ externalGuid: guid.toUpperCase() }, ['externalGuid']],
      [{ mrn: 'M-1', externalId: 'E-1', externalGuid: randomUUID() }, ['externalId', 'mrn']],
    ];
    for (const [fields, named] of cases) {
      const res = await call('POST', '/patients', { body: patient(fields) });
      expect(res.status).toBe(409);
      expect(codeOf(res.body)).toBe('CONFLICT');
      expect(fieldsOf(res)).toEqual(named);
    }
    const list = await call<List>('GET', '/patients');
    expect(list.body.data.map((p) => p.id)).toEqual([first.id]);

    // Unique per instance: the sandbox may hold the same identifiers.
    const sandbox = await kith.request('POST', `/${tenant.name}/sandbox/patients`, {
      token,
      body: patient({ mrn: 'M-1', externalId: 'E-1', externalGuid: guid }),
    });
    expect(sandbox.status).toBe(201);
  });

  it('refuses a patch onto another patient’s identifier and leaves the patient unchanged', async () => {
    const { call, create } = await workspace();
    await create({ externalGuid: '6f1c2a3e-0000-4000-8000-000000000001', mrn: 'TAKEN' });
    const other = await create({ mrn: 'MINE' });
    const res = await call('PATCH', `/patients/${other.id}`, {
      body: { firstName: 'Changed', externalGuid: '6f1c2a3e-0000-4000-8000-000000000001' },
    });
    expect(res.status).toBe(409);
    expect(fieldsOf(res)).toEqual(['externalGuid']);
    const after = await call('GET', `/patients/${other.id}`);
    expect(after.body).toEqual(other);
    expect(after.headers.get('etag')).toBe('"1"');
    // Keeping its own identifier is no conflict.
    expect(
      (await call('PATCH', `/patients/${other.id}`, { body: { mrn: 'MINE', lastName: 'X' } })).status,
    ).toBe(200);
  });

  it('lets exactly one of two concurrent creates with the same mrn through', async () => {
    const { call } = await workspace();
    const results = await Promise.all(
      ['A', 'B'].map((name) =>
        call('POST', '/patients', { body: patient({ firstName: name, mrn: 'RACE' }) }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const loser = results.find((r) => r.status === 409)!;
    expect(fieldsOf(loser)).toEqual(['mrn']);
    expect((await call<List>('GET', '/patients?mrn=RACE')).body.metaInfo.totalElements).toBe(1);
  });
});

describe('ETags and If-Match', () => {
  it('applies a PATCH or DELETE only while If-Match names the current version', async () => {
    const { call, create } = await workspace();
    const created = await create();
    const path = `/patients/${created.id}`;

    const ok = await call('PATCH', path, { body: { firstName: 'Two' }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');

    const stale = await call('PATCH', path, { body: { firstName: 'Three' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(codeOf(stale.body)).toBe('PRECONDITION_FAILED');
    expect((stale.body as unknown as ErrorBody)[0]!.details).toEqual({ currentETag: '"2"' });
    const unchanged = await call('GET', path);
    expect(unchanged.body.firstName).toBe('Two');
    expect(unchanged.headers.get('etag')).toBe('"2"');

    for (const ifMatch of ['"1"', 'garbage', 'W/"7"']) {
      const res = await call('DELETE', path, { headers: { 'if-match': ifMatch } });
      expect(res.status, ifMatch).toBe(412);
    }
    expect((await call('GET', path)).status).toBe(200);

    const any = await call('PATCH', path, { body: { lastName: 'Any' }, headers: { 'if-match': '*' } });
    expect(any.headers.get('etag')).toBe('"3"');
    const listed = await call('DELETE', path, { headers: { 'if-match': '"9", W/"3"' } });
    expect(listed.status).toBe(204);
    expect((await call('GET', path)).status).toBe(404);
  });

  it('of two concurrent PATCHes with the same ETag, exactly one succeeds', async () => {
    const { call, create } = await workspace();
    const created = await create();
    const path = `/patients/${created.id}`;
    const results = await Promise.all(
      ['Left', 'Right'].map((firstName) =>
        call('PATCH', path, { body: { firstName }, headers: { 'if-match': '"1"' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412]);
    const winner = results.find((r) => r.status === 200)!;
    const now = await call('GET', path);
    expect(now.headers.get('etag')).toBe('"2"');
    expect(now.body.firstName).toBe(winner.body.firstName);
  });

  it('applies concurrent PATCHes without If-Match one after the other, losing neither', async () => {
    const { call, create } = await workspace();
    const created = await create();
    const path = `/patients/${created.id}`;
    const results = await Promise.all([
      call('PATCH', path, { body: { firstName: 'Left' } }),
      call('PATCH', path, { body: { city: 'Right' } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const now = await call('GET', path);
    expect(now.body).toMatchObject({ firstName: 'Left', city: 'Right' });
    expect(now.headers.get('etag')).toBe('"3"');
  });
});

describe('Idempotency-Key', () => {
  it('replays the first 201 for a retried create, and refuses the key with another body', async () => {
    const { call } = await workspace();
    const headers = { 'idempotency-key': `create-${randomUUID()}` };
    const first = await call('POST', '/patients', { body: patient({ mrn: 'ONCE' }), headers });
    const retry = await call('POST', '/patients', { body: patient({ mrn: 'ONCE' }), headers });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('etag')).toBe('"1"');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect((await call<List>('GET', '/patients')).body.metaInfo.totalElements).toBe(1);

    const reused = await call('POST', '/patients', { body: patient({ mrn: 'TWICE' }), headers });
    expect(reused.status).toBe(422);
    expect(codeOf(reused.body)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await call<List>('GET', '/patients')).body.metaInfo.totalElements).toBe(1);
  });
});
