// The workloads. Each names the server it loads, the one request every connection repeats, the status every
// response must have, and what its figures are divided by: `baseline` (a raw node:http workload of the same
// run) and `reference` (the Kith workload it is compared with). Add a workload here and run.ts picks it up.
import type { ReadyMessage } from './shared.ts';

export interface WorkloadContext {
  fixture: NonNullable<ReadyMessage['fixture']>;
  /** A valid bearer token of the fixture's client. */
  token: string;
  /** The same token with its signature changed: well-formed, but must fail verification. */
  badToken: string;
}

export interface WorkloadRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface Workload {
  name: string;
  summary: string;
  server: 'raw' | 'kith';
  expectedStatus: number;
  /** Name of the raw workload doing the same HTTP-level work. */
  baseline?: string;
  /** Name of the Kith workload this one is compared with (the goal's reference). */
  reference?: string;
  request(context: WorkloadContext): WorkloadRequest;
}

const cheapPath = ({ fixture }: WorkloadContext) => `/${fixture.tenant}/${fixture.instance}/bench/cheap`;
const json = { 'content-type': 'application/json' };

export const WORKLOADS: Workload[] = [
  {
    name: 'raw-get',
    summary: 'Baseline: bare node:http, GET, serialises the cheap body',
    server: 'raw',
    expectedStatus: 200,
    request: () => ({ path: '/' }),
  },
  {
    name: 'raw-post',
    summary: 'Baseline: bare node:http, POST, parses the JSON body, serialises a token-shaped body',
    server: 'raw',
    expectedStatus: 200,
    request: () => ({ path: '/', method: 'POST', headers: json, body: '{"apiClient":"X","secret":"Y"}' }),
  },
  {
    name: 'public',
    summary: 'GET /:tenant/:instance/bench/public (permission public)',
    server: 'kith',
    expectedStatus: 200,
    baseline: 'raw-get',
    request: ({ fixture }) => ({ path: `/${fixture.tenant}/${fixture.instance}/bench/public` }),
  },
  {
    name: 'auth',
    summary: 'GET /:tenant/:instance/bench/cheap with a valid token (permission instances:read)',
    server: 'kith',
    expectedStatus: 200,
    baseline: 'raw-get',
    reference: 'public',
    request: (c) => ({ path: cheapPath(c), headers: { authorization: `Bearer ${c.token}` } }),
  },
  {
    name: 'reject-no-token',
    summary: 'The same authenticated route without an Authorization header',
    server: 'kith',
    expectedStatus: 401,
    baseline: 'raw-get',
    reference: 'auth',
    request: (c) => ({ path: cheapPath(c) }),
  },
  {
    name: 'reject-bad-signature',
    summary: 'The same authenticated route with a well-formed token whose signature is wrong',
    server: 'kith',
    expectedStatus: 401,
    baseline: 'raw-get',
    reference: 'auth',
    request: (c) => ({ path: cheapPath(c), headers: { authorization: `Bearer ${c.badToken}` } }),
  },
  {
    name: 'token',
    summary: 'POST /auth/token with a valid key and secret (issues a new token each time)',
    server: 'kith',
    expectedStatus: 200,
    baseline: 'raw-post',
    request: ({ fixture }) => ({
      path: '/auth/token',
      method: 'POST',
      headers: json,
      body: JSON.stringify({ apiClient: fixture.apiClient, secret: fixture.secret }),
    }),
  },
];

/** A token with the first character of its signature changed (still base64url, so it passes the format check). */
export function tamperSignature(token: string): string {
  const cut = token.lastIndexOf('.') + 1;
  const first = token[cut] === 'A' ? 'B' : 'A';
  return `${token.slice(0, cut)}${first}${token.slice(cut + 1)}`;
}
