// The two patient lists: GET /patients (`data` + `metaInfo`) and POST /by-filter/patients (a Spring page).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { fieldsOf, workspaceIn } from './patients.fixtures.ts';
import type { Patient } from './patients.schemas.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type MetaInfoList = { data: Patient[]; metaInfo: Record<string, unknown> };
type SpringList = { content: Patient[] } & Record<string, unknown>;

/** Five patients, their creation times a millisecond apart or more, so creation order is list order. */
async function fivePatients() {
  const ws = await workspaceIn(kith);
  const people = [
    ['Alice', 'Smith', 'M-1'],
    ['alan', 'Jones', 'M-2'],
    ['Bob', 'SMITHERS', 'M-3'],
    ['Carol', 'King', 'M-4'],
    ['Dora', '50%_off', 'M-5'],
  ];
  const created: Patient[] = [];
  try {
    for (const [firstName, lastName, mrn] of people) {
      created.push(await ws.create({ firstName, lastName, mrn }));
      kith.clock.advance(1);
    }
  } finally {
    kith.clock.reset();
  }
  return { ...ws, created, names: created.map((p) => p.firstName) };
}

describe('GET /patients', () => {
  it('pages from 0 with metaInfo, oldest first', async () => {
    const { call, names } = await fivePatients();
    const first = await call<MetaInfoList>('GET', '/patients?size=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((p) => p.firstName)).toEqual(names.slice(0, 2));
    expect(first.body.metaInfo).toEqual({
      ...{ page: 0, pageSize: 2, totalElements: 5, numberOfElements: 2, totalPages: 3 },
      ...{ firstPage: true, lastPage: false },
    });
    const last = await call<MetaInfoList>('GET', '/patients?size=2&page=2');
    expect(last.body.data.map((p) => p.firstName)).toEqual(names.slice(4));
    expect(last.body.metaInfo).toMatchObject({
      page: 2,
      numberOfElements: 1,
      firstPage: false,
      lastPage: true,
    });
    const all = await call<MetaInfoList>('GET', '/patients');
    expect(all.body.metaInfo).toMatchObject({
      pageSize: 20,
      totalElements: 5,
      totalPages: 1,
      lastPage: true,
    });
    // Every item is the full patient object.
    expect(all.body.data[0]).toEqual((await call('GET', `/patients/${all.body.data[0]!.id}`)).body);
  });

  it('filters by partial, case-insensitive names and exact mrn', async () => {
    const { call } = await fivePatients();
    const names = async (query: string) =>
      (await call<MetaInfoList>('GET', `/patients?${query}`)).body.data.map((p) => p.firstName);
    expect(await names('firstName=AL')).toEqual(['Alice', 'alan']);
    expect(await names('lastName=smith')).toEqual(['Alice', 'Bob']);
    expect(await names('firstName=a&lastName=SMITH')).toEqual(['Alice']);
    expect(await names('mrn=M-3')).toEqual(['Bob']);
    expect(await names('mrn=m-3')).toEqual([]);
    expect(await names('mrn=M')).toEqual([]);
    // LIKE wildcards in a search term match only themselves.
    expect(await names(`lastName=${encodeURIComponent('%_')}`)).toEqual(['Dora']);
    expect(await names('lastName=_')).toEqual(['Dora']);
    expect(await names('mrn=')).toHaveLength(5);
  });

  it('rejects page sizes over 100 and negative pages, naming the parameter', async () => {
    const { call } = await workspaceIn(kith);
    const big = await call('GET', '/patients?size=101');
    expect(big.status).toBe(400);
    expect(fieldsOf(big)).toEqual(['size']);
    const negative = await call('GET', '/patients?page=-1');
    expect(negative.status).toBe(400);
    expect(fieldsOf(negative)).toEqual(['page']);
  });
});

describe('POST /by-filter/patients', () => {
  it('answers the empty filter the Python client sends with a Spring page', async () => {
    const { call, names } = await fivePatients();
    const res = await call<SpringList>('POST', '/by-filter/patients?page=1&size=2', { body: {} });
    expect(res.status).toBe(200);
    const sort = { sorted: false, unsorted: true, empty: true };
    expect(res.body).toEqual({
      content: res.body.content,
      pageable: { sort, pageNumber: 1, pageSize: 2, offset: 2, paged: true, unpaged: false },
      ...{ last: false, totalElements: 5, totalPages: 3, sort, first: false, number: 1 },
      ...{ numberOfElements: 2, size: 2, empty: false },
    });
    expect(res.body.content.map((p) => p.firstName)).toEqual(names.slice(2, 4));

    const beyond = await call<SpringList>('POST', '/by-filter/patients?page=9', { body: {} });
    expect(beyond.body).toMatchObject({ content: [], empty: true, last: true, number: 9, size: 20 });
  });

  it('applies the filters it knows and ignores the rest', async () => {
    const { call, created } = await fivePatients();
    const names = async (body: Record<string, unknown>) =>
      (await call<SpringList>('POST', '/by-filter/patients', { body })).body.content.map((p) => p.firstName);
    expect(await names({ firstName: 'al', lastName: null, sortBy: 'whatever' })).toEqual(['Alice', 'alan']);
    expect(await names({ mrn: 'M-4' })).toEqual(['Carol']);
    const withIds = await call('PATCH', `/patients/${created[1]!.id}`, {
      body: { externalId: 'EXT', externalGuid: '0f8fad5b-d9cb-469f-a165-70867728950e' },
    });
    expect(withIds.status).toBe(200);
    expect(await names({ externalId: 'EXT' })).toEqual(['alan']);
    expect(await names({ externalGuid: '0F8FAD5B-D9CB-469F-A165-70867728950E' })).toEqual(['alan']);
    expect(await names({ externalId: 'EXT', mrn: 'M-1' })).toEqual([]);
  });
});
