// Starts the real app (buildApp, as `kith serve` does) on a real database and a real port, and gives each test
// its own tenant, instances and API client. Engine: SQLite by default, PostgreSQL when KITH_DATABASE_URL is set.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import type { KithApp } from '../src/platform/http/types.ts';
import type { Policy } from '../src/platform/auth/policies.ts';
import type { Clock } from '../src/platform/clock.ts';
import { createServices, type Services } from '../src/services.ts';

/** A clock tests can move forward; it otherwise follows real time. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
  reset(): void {
    this.offsetMs = 0;
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as-is instead of JSON.stringify(body). */
  rawBody?: string;
}

export interface TestClient {
  apiClient: string;
  secret: string;
}

export interface TestTenant {
  name: string;
  instances: string[];
  client: TestClient;
  /** A fresh token for the tenant's full-access client. */
  token(): Promise<string>;
  /** Another client of this tenant with the given instances and policy (built-in name or definition). */
  addClient(options: {
    instances?: string[];
    policy?: string | Policy;
  }): Promise<TestClient & { token: string }>;
}

export interface Kith {
  baseUrl: string;
  app: KithApp;
  services: Services;
  database: Database;
  clock: TestClock;
  config: Config;
  request<T = unknown>(method: string, urlPath: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** A tenant with random name, instances `live` and `sandbox` (or those given), and a full-access client. */
  newTenant(options?: { instances?: string[] }): Promise<TestTenant>;
  tokenFor(client: TestClient): Promise<string>;
  close(): Promise<void>;
}

export function randomName(prefix = 't'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Database settings for this run: a temp SQLite directory, or the run's PostgreSQL database. */
export function testDatabaseSettings(): Pick<Config, 'dataDir' | 'databaseUrl'> {
  const databaseUrl = inject('databaseUrl') || undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-test-'));
  return { dataDir, databaseUrl };
}

export async function startKith(overrides: Partial<Config> = {}, appOptions: AppOptions = {}): Promise<Kith> {
  // A second node on an existing database passes its settings; only a fresh node gets a fresh database.
  const database = 'dataDir' in overrides ? {} : testDatabaseSettings();
  const config = loadConfig(
    { KITH_LOG_LEVEL: process.env.KITH_TEST_LOG ?? 'silent', KITH_NO_DEMO: '1' },
    { ...database, port: 0, ...overrides },
  );
  const db = openDatabase(config);
  await migrate(db);
  const clock = new TestClock();
  const services = await createServices({ config, database: db, clock });
  const app = await buildApp(services, appOptions);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  async function request<T>(method: string, urlPath: string, options: RequestOptions = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${address}${urlPath}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  async function tokenFor(client: TestClient): Promise<string> {
    const res = await request<{ token: string }>('POST', '/auth/token', { body: client });
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`);
    return res.body.token;
  }

  async function newTenant(options: { instances?: string[] } = {}): Promise<TestTenant> {
    const name = randomName();
    const instances = options.instances ?? ['live', 'sandbox'];
    await services.tenants.createTenant(name);
    for (const instance of instances) await services.tenants.createInstance(name, instance);
    const created = await services.clients.create({ tenant: name, instances, policy: 'full-access' });
    const client = { apiClient: created.apiClient, secret: created.secret };
    return {
      name,
      instances,
      client,
      token: () => tokenFor(client),
      async addClient({ instances: granted = instances, policy = 'full-access' }) {
        const c = await services.clients.create({ tenant: name, instances: granted, policy });
        const extra = { apiClient: c.apiClient, secret: c.secret };
        return { ...extra, token: await tokenFor(extra) };
      },
    };
  }

  return {
    baseUrl: address,
    app,
    services,
    database: db,
    clock,
    config,
    request,
    newTenant,
    tokenFor,
    async close() {
      await app.close();
      await services.rateLimits.close();
      await db.close();
      if (!config.databaseUrl) fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
