import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.ts';
import { startKith, type Kith } from '../../../test/harness.ts';

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

type ErrorBody = Array<{
  errorCode: string;
  componentType: string;
  message: string;
  details: Record<string, unknown>;
}>;

function expectErrorShape(body: unknown, code: string) {
  expect(Array.isArray(body)).toBe(true);
  const [item] = body as Array<Record<string, unknown>>;
  expect(Object.keys(item!).sort()).toEqual(['componentType', 'date', 'details', 'errorCode', 'message']);
  expect(item!.errorCode).toBe(code);
  expect(new Date(item!.date as string).toISOString()).toBe(item!.date);
}

describe('error responses', () => {
  it('answers malformed JSON with 400 MALFORMED_REQUEST', async () => {
    const res = await kith.request('POST', '/auth/token', {
      rawBody: '{"apiClient": "A",',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'MALFORMED_REQUEST');
  });

  it('answers an empty JSON body with 400', async () => {
    const res = await kith.request('POST', '/auth/token', {
      rawBody: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'MALFORMED_REQUEST');
  });

  it('answers a non-JSON media type with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await kith.request('POST', '/auth/token', {
        rawBody: 'apiClient=A',
        headers: { 'content-type': type },
      });
      expect(res.status).toBe(415);
      expectErrorShape(res.body, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('answers a body over the limit with 413', async () => {
    const res = await kith.request('POST', '/auth/token', {
      body: { apiClient: 'A', secret: 'x'.repeat(kith.config.bodyLimitBytes) },
    });
    expect(res.status).toBe(413);
    expectErrorShape(res.body, 'PAYLOAD_TOO_LARGE');
  });

  it('answers an unknown route with 404 ROUTE_NOT_FOUND', async () => {
    const res = await kith.request('GET', '/no/such/route/here');
    expect(res.status).toBe(404);
    expectErrorShape(res.body, 'ROUTE_NOT_FOUND');
  });

  it('names every failing field, with array indexes, in VALIDATION_ERROR', async () => {
    const res = await kith.request('POST', '/auth/token', {
      body: { apiClient: '', secret: 7, color: 'red' },
    });
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 'VALIDATION_ERROR');
    const fields = (res.body as ErrorBody)[0]!.details.fields as Array<{ field: string; location: string }>;
    expect(fields.map((f) => f.field).sort()).toEqual(['apiClient', 'color']);
    expect(fields.every((f) => f.location === 'body')).toBe(true);
  });

  it('turns an unexpected failure into 500 INTERNAL_ERROR with only the request id', async () => {
    const broken = await startKith();
    try {
      const tenant = await broken.newTenant();
      // The database going away mid-flight is the archetypal unexpected error.
      await broken.database.close();
      const res = await broken.request('POST', '/auth/token', {
        body: tenant.client,
        headers: { 'x-request-id': 'req-500-test' },
      });
      expect(res.status).toBe(500);
      expectErrorShape(res.body, 'INTERNAL_ERROR');
      const [item] = res.body as ErrorBody;
      expect(item!.details).toEqual({ requestId: 'req-500-test' });
      expect(item!.message).toBe('Internal error');
      expect(res.text).not.toMatch(/select|sqlite|postgres|at .*\.ts|Error:/i);
    } finally {
      await broken.app.close();
    }
  });
});

describe('HTTP conventions', () => {
  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const given = await kith.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const generated = await kith.request('GET', '/health');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await kith.request('GET', '/health', { headers: { 'x-request-id': 'a b<script>' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers on API responses, errors included', async () => {
    for (const res of [await kith.request('GET', '/health'), await kith.request('GET', '/auth/me')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const res = await kith.request('GET', '/health', { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const withCors = await startKith({ corsOrigins: ['https://app.example'] });
    try {
      const allowed = await withCors.request('GET', '/health', {
        headers: { origin: 'https://app.example' },
      });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      // A browser may read the headers a client needs: request id, ETag, and the rate-limit state.
      expect(allowed.headers.get('access-control-expose-headers')?.split(', ')).toEqual([
        'x-request-id',
        'etag',
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
      ]);
      const other = await withCors.request('GET', '/health', { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await withCors.close();
    }
  });
});

describe('routes and the OpenAPI document', () => {
  it('refuses to register a route that declares no permission', async () => {
    const app = await buildApp(kith.services);
    try {
      expect(() => app.get('/undeclared', async () => 'x')).toThrow(/declares no permission/);
    } finally {
      await app.close();
    }
  });

  it('every route declares a permission', () => {
    expect(kith.app.kithRoutes.length).toBeGreaterThan(5);
    for (const route of kith.app.kithRoutes)
      expect(route.permission, `${route.method} ${route.url}`).toBeTruthy();
  });

  it('serves an OpenAPI 3.1 document with every route and its error responses', async () => {
    const res = await kith.request<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
      components: { schemas: Record<string, unknown> };
    }>('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = kith.app.kithRoutes.filter((r) => r.documented && r.method !== 'HEAD');
    expect(documented.length).toBeGreaterThan(4);
    for (const route of documented) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      const operation = res.body.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${path} missing from the OpenAPI document`).toBeDefined();
      expect(Object.keys(operation!.responses)).toEqual(expect.arrayContaining(['4XX', '5XX']));
      expect(Boolean(operation!.security)).toBe(route.permission !== 'public');
    }
    expect(res.body.components.schemas).toHaveProperty('KithError');
  });

  it('serves an interactive reference page at /docs', async () => {
    const res = await kith.request('GET', '/docs/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('logging', () => {
  it('writes JSON lines carrying the request id and never a secret, token or body', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logged = await startKith({ logLevel: 'debug' }, { logStream });
    try {
      const tenant = await logged.newTenant();
      const token = await logged.tokenFor(tenant.client);
      await logged.request('GET', '/auth/me', { token, headers: { 'x-request-id': 'log-test-1' } });
      await logged.request('POST', '/auth/token', { body: { apiClient: 'X', secret: 'body-secret-value' } });
      expect(lines.length).toBeGreaterThan(4);
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const text = lines.join('\n');
      for (const secret of [tenant.client.secret, token, token.split('.')[2]!, 'body-secret-value']) {
        expect(text).not.toContain(secret);
      }
      const requestLines = entries.filter((e) => 'req' in e || 'res' in e);
      expect(requestLines.length).toBeGreaterThan(3);
      for (const entry of requestLines) expect(entry.requestId).toEqual(expect.any(String));
      expect(entries.some((e) => e.requestId === 'log-test-1')).toBe(true);
    } finally {
      await logged.close();
    }
  });
});
