// The contacts workloads: each Kith workload and the raw baseline it is divided by, in the order they run (reads
// first, so the writes cannot change what the reads see; raw and Kith side by side, so drift on a shared
// machine hits both alike). Every request of a workload is one of a rotation of variants (ids, tags, companies,
// queries), so the figures are not those of one hot row or one cached plan.
import { fold } from '../src/modules/contacts/contacts.model.ts';
import { FIRST_NAMES, LAST_NAMES, rng, TAG_NAMES } from './contacts-data.ts';
import { createBodies } from './contacts-spec.ts';

export interface BenchContext {
  /** Kith path prefixes: the big tenant's instance (reads, patches) and the instance creates go to. */
  readPrefix: string;
  createPrefix: string;
  readToken: string;
  createToken: string;
  /** Every small tenant's contacts path and token, for creates spread over instances. */
  spread: Array<{ prefix: string; token: string }>;
  getIds: string[];
  patchIds: string[];
  createSeed: number;
  /** Per list workload: the query strings of its variants (the raw baseline runs the SQL Kith ran for each). */
  lists: Record<string, string[]>;
}

export interface BenchRequest {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ContactWorkload {
  name: string;
  summary: string;
  server: 'raw' | 'kith';
  expectedStatus: number;
  baseline?: string;
  /** The k-th request (k counts up from 0 across all connections). */
  request(context: BenchContext): (k: number) => BenchRequest;
}

const CREATE_BODIES = 1000;
const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const at = <T>(list: T[], k: number) => list[k % list.length]!;
const avatar = (k: number) => JSON.stringify({ avatarUrl: `https://example.com/avatars/${k % 100_000}.png` });

/** The list and search variants; `phones` are E.164 numbers of live contacts of the big tenant. */
export function listQueries(phones: string[]): Record<string, string[]> {
  const r = rng(7);
  const pick = <T>(list: T[]) => list[Math.floor(r() * list.length)]!;
  const name = (list: string[]) => fold(pick(list)).replace(/[^a-z]/g, '');
  const companies = ['acme', 'nordlicht', 'health', 'labs', 'zür', 'café', 'sierra', 'summit health'].concat([
    'northw',
    'mer',
    'pharma',
    'care',
    'quantum',
    'söhne',
    'bluewater',
    'gdansk',
  ]);
  const prefixes = Array.from({ length: 32 }, (_, i) =>
    i % 2 === 0
      ? `${name(FIRST_NAMES).slice(0, 3)} ${name(LAST_NAMES).slice(0, 3)}`
      : name(LAST_NAMES).slice(0, 5),
  );
  const longNames = LAST_NAMES.map((n) => fold(n)).filter((n) => /^[a-z]{6,}$/.test(n));
  // One edit inside the word: a letter dropped, two neighbours swapped, or a letter replaced.
  const typos = Array.from({ length: 32 }, (_, i) => {
    const word = pick(longNames);
    const p = 1 + Math.floor(r() * (word.length - 2));
    if (i % 3 === 0) return word.slice(0, p) + word.slice(p + 1);
    if (i % 3 === 1) return word.slice(0, p) + word[p + 1]! + word[p]! + word.slice(p + 2);
    return word.slice(0, p) + (word[p] === 'x' ? 'y' : 'x') + word.slice(p + 1);
  });
  // As people type them: (415) 555-0123, +1 415-555-0123, 415.555.0123.
  const formatted = phones.slice(0, 32).map((e164, i) => {
    const [a, b, c] = [e164.slice(2, 5), e164.slice(5, 8), e164.slice(8)];
    return [`(${a}) ${b}-${c}`, `+1 ${a}-${b}-${c}`, `${a}.${b}.${c}`][i % 3]!;
  });
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
  return {
    'page-tag': TAG_NAMES.map((tag) => q({ tag, sort: 'lastName', limit: '50' })),
    'page-company': companies.map((company) => q({ company, limit: '50' })),
    'search-prefix': prefixes.map((search) => q({ search, limit: '20' })),
    'search-typo': typos.map((search) => q({ search, limit: '20' })),
    'search-phone': formatted.map((search) => q({ search, limit: '20' })),
  };
}

const LIST_SUMMARIES: Record<string, string> = {
  'page-tag': 'GET /contacts?tag=T&sort=lastName&limit=50 (T: each of the 16 tags, common to rare)',
  'page-company': 'GET /contacts?company=C&limit=50 (C: 16 company words and prefixes; sort displayName)',
  'search-prefix': 'GET /contacts?search=Q&limit=20 (Q: "ana gar" name prefixes, or one 5-letter prefix)',
  'search-typo': 'GET /contacts?search=Q&limit=20 (Q: a last name with one typo)',
  'search-phone': 'GET /contacts?search=Q&limit=20 (Q: a live contact\'s number, e.g. "(415) 555-0123")',
};

function listPair(shape: string): ContactWorkload[] {
  return [
    {
      name: `raw-${shape}`,
      summary: `Baseline: the SQL Kith ran for each ${shape} variant, same concurrency, rows as JSON`,
      server: 'raw',
      expectedStatus: 200,
      request: (c) => (k) => ({ method: 'GET', path: `/list/${shape}/${k % c.lists[shape]!.length}` }),
    },
    {
      name: shape,
      summary: LIST_SUMMARIES[shape]!,
      server: 'kith',
      expectedStatus: 200,
      baseline: `raw-${shape}`,
      request: (c) => (k) => ({
        method: 'GET',
        path: `${c.readPrefix}?${at(c.lists[shape]!, k)}`,
        headers: bearer(c.readToken),
      }),
    },
  ];
}

export const CONTACT_WORKLOADS: ContactWorkload[] = [
  {
    name: 'raw-get',
    summary: 'Baseline: select one contact by instance and id, reply with it as JSON',
    server: 'raw',
    expectedStatus: 200,
    request: (c) => (k) => ({ method: 'GET', path: `/get/${at(c.getIds, k)}` }),
  },
  {
    name: 'get',
    summary: 'GET /contacts/:id (1,000 random live contacts of the big tenant)',
    server: 'kith',
    expectedStatus: 200,
    baseline: 'raw-get',
    request: (c) => (k) => ({
      method: 'GET',
      path: `${c.readPrefix}/${at(c.getIds, k)}`,
      headers: bearer(c.readToken),
    }),
  },
  ...Object.keys(LIST_SUMMARIES).flatMap(listPair),
  {
    name: 'raw-patch',
    summary: 'Baseline: one statement setting doc.avatarUrl, updated_at and version, returning the row',
    server: 'raw',
    expectedStatus: 200,
    request: (c) => (k) => ({
      method: 'PATCH',
      path: `/patch/${at(c.patchIds, k)}`,
      headers: json,
      body: avatar(k),
    }),
  },
  {
    name: 'patch',
    summary: 'PATCH /contacts/:id {avatarUrl} (1,000 random live contacts of the big tenant)',
    server: 'kith',
    expectedStatus: 200,
    baseline: 'raw-patch',
    request: (c) => (k) => ({
      method: 'PATCH',
      path: `${c.readPrefix}/${at(c.patchIds, k)}`,
      headers: { ...json, ...bearer(c.readToken) },
      body: avatar(k),
    }),
  },
  {
    name: 'raw-create',
    summary: 'Baseline: insert the same row, tags and search terms (precomputed) in one transaction',
    server: 'raw',
    expectedStatus: 201,
    request: (c) => {
      const bodies = createBodies(c.createSeed, CREATE_BODIES);
      return (k) => ({ method: 'POST', path: '/create', headers: json, body: at(bodies, k) });
    },
  },
  {
    name: 'create',
    summary: 'POST /contacts (1,000 varied bodies) into a small tenant',
    server: 'kith',
    expectedStatus: 201,
    baseline: 'raw-create',
    request: (c) => {
      const bodies = createBodies(c.createSeed, CREATE_BODIES);
      return (k) => ({
        method: 'POST',
        path: c.createPrefix,
        headers: { ...json, ...bearer(c.createToken) },
        body: at(bodies, k),
      });
    },
  },
  {
    name: 'create-spread',
    summary:
      'POST /contacts (the same bodies) spread over the 19 small tenants: each instance orders its events by ' +
      'a row lock held to commit, so creates into one instance commit one at a time; across instances they do not',
    server: 'kith',
    expectedStatus: 201,
    baseline: 'raw-create',
    request: (c) => {
      const bodies = createBodies(c.createSeed, CREATE_BODIES);
      return (k) => {
        const target = at(c.spread, k);
        return {
          method: 'POST',
          path: target.prefix,
          headers: { ...json, ...bearer(target.token) },
          body: at(bodies, k),
        };
      };
    },
  },
];

export const CREATE_BODY_COUNT = CREATE_BODIES;
