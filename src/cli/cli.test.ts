// The real `kith` command, run as child processes (bin/kith.js, as an operator runs it), on the run's engine:
// SQLite in a temp KITH_DATA_DIR, or the run's PostgreSQL database. Admin commands are checked through HTTP
// against an in-process server on the same database, which also proves they work while a server runs.
// `kith serve` itself always runs on SQLite (its embedded default) in a fresh data directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, test } from 'vitest';
import { randomName, startKith, type ApiResponse, type Kith } from '../../test/harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KITH = path.join(ROOT, 'bin', 'kith.js');
const DATABASE_URL = inject('databaseUrl') || undefined;
/** Each launch pays for tsx's start-up (~1–2 s), more when several run at once. */
const LAUNCH_TIMEOUT_MS = 60_000;
const SLOW_TEST_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string>;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-cli-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The parent's environment without any KITH_* variable (the run's own KITH_DATABASE_URL included), plus `env`. */
function childEnv(env: Env): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('KITH_')));
  return { ...base, ...env };
}

/** Runs `kith ARGS…` to completion. */
function kith(args: string[], env: Env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [KITH, ...args],
      { cwd: ROOT, env: childEnv(env), timeout: LAUNCH_TIMEOUT_MS, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error?.killed) {
          reject(new Error(`kith ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
          return;
        }
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/** A successful `--json` run: exit 0, nothing on stderr, and stdout that is JSON and nothing else. */
function json(run: Run): unknown {
  expect(run.stderr, run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as unknown;
}

/** A failed run: non-zero exit, nothing on stdout, exactly one line on stderr and no stack trace. */
function failure(run: Run): string {
  expect(run.code, run.stderr).not.toBe(0);
  expect(run.code).not.toBeNull();
  expect(run.stdout).toBe('');
  expect(run.stderr.endsWith('\n')).toBe(true);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

/** Retries `attempt` until `done` holds or `timeoutMs` passes; returns the last result either way. */
async function eventually<T>(attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Typed asymmetric matchers (expect.any and friends return `any`).
const anyString = (): unknown => expect.any(String);
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

function errorCode(response: ApiResponse): string | undefined {
  const body = response.body as Array<{ errorCode?: string }> | undefined;
  return Array.isArray(body) ? body[0]?.errorCode : undefined;
}

interface Workspace {
  /** An in-process server on the same database as the CLI. */
  server: Kith;
  cli: (...args: string[]) => Promise<Run>;
  /** A tenant with the given instances, made through the services (not under test here). */
  tenant: (instances?: string[]) => Promise<string>;
}

async function workspace(): Promise<Workspace> {
  const dataDir = tempDir();
  const server = await startKith({ dataDir, databaseUrl: DATABASE_URL });
  // On SQLite close() also removes dataDir; tempDir's cleanup (registered first, so run last) tolerates that.
  cleanups.push(() => server.close());
  const env: Env = { KITH_DATA_DIR: dataDir, ...(DATABASE_URL ? { KITH_DATABASE_URL: DATABASE_URL } : {}) };
  return {
    server,
    cli: (...args) => kith(args, env),
    tenant: async (instances = ['live']) => {
      const name = randomName();
      await server.services.tenants.createTenant(name);
      for (const instance of instances) await server.services.tenants.createInstance(name, instance);
      return name;
    },
  };
}

describe(`kith admin (${DATABASE_URL ? 'PostgreSQL' : 'SQLite'})`, () => {
  test(
    'tenant, instances and a client made by the CLI work against a running server; disable, enable and rotate-secret reach it',
    async () => {
      const { server, cli } = await workspace();
      const tenant = randomName();

      expect(json(await cli('admin', 'tenant', 'create', tenant, '--json'))).toEqual({
        name: tenant,
        createdAt: anyString(),
      });
      const instances = await Promise.all([
        cli('admin', 'instance', 'create', tenant, 'live', '--json').then(json),
        cli('admin', 'instance', 'create', tenant, 'sandbox', '--phone-region', 'gb', '--json').then(json),
      ]);
      expect(instances).toEqual([
        { tenant, name: 'live', phoneRegion: 'US', createdAt: anyString() },
        { tenant, name: 'sandbox', phoneRegion: 'GB', createdAt: anyString() },
      ]);

      const created = json(
        await cli(
          'admin',
          'client',
          'create',
          tenant,
          '--instances',
          'live,sandbox',
          '--policy',
          'full-access',
          '--json',
        ),
      ) as { apiClient: string; secret: string };
      expect(Object.keys(created).sort()).toEqual(['apiClient', 'instances', 'secret', 'tenant']);
      expect(created).toEqual({
        apiClient: matching(/^\S+$/),
        secret: matching(/^\S{20,}$/),
        tenant,
        instances: ['live', 'sandbox'],
      });
      const key = created.apiClient;
      const credentials = { apiClient: key, secret: created.secret };

      // The server (which has never seen this client) issues it a token, and the token works.
      const token = await server.tokenFor(credentials);
      expect((await server.request('GET', `/${tenant}/live`, { token })).status).toBe(200);
      const me = await server.request<{ policy: string; instances: string[] }>('GET', '/auth/me', { token });
      expect(me.body).toMatchObject({
        apiClient: key,
        tenant,
        policy: 'full-access',
        instances: ['live', 'sandbox'],
      });

      // disable: the running server rejects the token it already accepted (and cached) within seconds.
      expect(json(await cli('admin', 'client', 'disable', tenant, key, '--json'))).toEqual({
        apiClient: key,
        enabled: false,
      });
      const rejected = await eventually(
        () => server.request('GET', `/${tenant}/live`, { token }),
        (r) => r.status === 401,
      );
      expect(rejected.status).toBe(401);
      expect(errorCode(rejected)).toBe('NOT_VALID_JSON_WEB_TOKEN');
      const refused = await server.request('POST', '/auth/token', { body: credentials });
      expect(refused.status).toBe(401);
      expect(errorCode(refused)).toBe('NOT_VALID_CREDENTIALS');

      expect(json(await cli('admin', 'client', 'list', tenant, '--json'))).toEqual([
        {
          apiClient: key,
          name: key,
          tenant,
          instances: ['live', 'sandbox'],
          policy: 'full-access',
          enabled: false,
          createdAt: anyString(),
          updatedAt: anyString(),
        },
      ]);

      // enable: tokens are issued again and the earlier one is accepted again.
      expect(json(await cli('admin', 'client', 'enable', tenant, key, '--json'))).toEqual({
        apiClient: key,
        enabled: true,
      });
      expect((await server.request('POST', '/auth/token', { body: credentials })).status).toBe(200);
      const accepted = await eventually(
        () => server.request('GET', `/${tenant}/live`, { token }),
        (r) => r.status === 200,
      );
      expect(accepted.status).toBe(200);

      // rotate-secret: the old secret stops working at once, the new one works, old tokens follow within seconds.
      const rotated = json(await cli('admin', 'client', 'rotate-secret', tenant, key, '--json')) as {
        secret: string;
      };
      expect(rotated).toEqual({ apiClient: key, secret: matching(/^\S{20,}$/) });
      expect(rotated.secret).not.toBe(created.secret);
      const oldSecret = await server.request('POST', '/auth/token', { body: credentials });
      expect(oldSecret.status).toBe(401);
      expect(errorCode(oldSecret)).toBe('NOT_VALID_CREDENTIALS');
      const newSecret = await server.request<{ token: string }>('POST', '/auth/token', {
        body: { apiClient: key, secret: rotated.secret },
      });
      expect(newSecret.status).toBe(200);
      expect((await server.request('GET', `/${tenant}/live`, { token: newSecret.body.token })).status).toBe(
        200,
      );
      const stale = await eventually(
        () => server.request('GET', `/${tenant}/live`, { token }),
        (r) => r.status === 401,
      );
      expect(stale.status).toBe(401);
      expect(errorCode(stale)).toBe('NOT_VALID_JSON_WEB_TOKEN');
    },
    SLOW_TEST_MS,
  );

  test(
    '--policy FILE.json creates the client with that custom policy; a bad policy file is one clear line',
    async () => {
      const { server, cli, tenant: newTenant } = await workspace();
      const tenant = await newTenant(['live']);
      const dir = tempDir();
      const file = (name: string, content: string) => {
        const target = path.join(dir, name);
        fs.writeFileSync(target, content);
        return target;
      };
      const readers = file(
        'readers.json',
        JSON.stringify({ name: 'readers', grants: [{ resource: 'instances', actions: ['read'] }] }),
      );

      const created = json(
        await cli('admin', 'client', 'create', tenant, '--instances', 'live', '--policy', readers, '--json'),
      ) as { apiClient: string; secret: string };
      expect(created).toMatchObject({ tenant, instances: ['live'] });
      const token = await server.tokenFor({ apiClient: created.apiClient, secret: created.secret });
      const me = await server.request('GET', '/auth/me', { token });
      expect(me.body).toMatchObject({
        apiClient: created.apiClient,
        policy: 'readers',
        permissions: ['instances:read'],
      });
      expect((await server.request('GET', `/${tenant}/live`, { token })).status).toBe(200);

      const invalid = file(
        'invalid.json',
        JSON.stringify({ name: 'Bad Name', grants: [{ resource: 'bogus', actions: ['read'] }] }),
      );
      // YAML by mistake: JSON.parse's message quotes the start of the file, newline included.
      const notJson = file('yaml.json', 'name: ro\ngrants: []\n');
      const builtIn = file('builtin.json', JSON.stringify({ name: 'full-access', grants: [] }));
      const [invalidRun, notJsonRun, builtInRun] = await Promise.all(
        [invalid, notJson, builtIn].map((policy) =>
          cli('admin', 'client', 'create', tenant, '--instances', 'live', '--policy', policy, '--json'),
        ),
      );
      const invalidLine = failure(invalidRun!);
      expect(invalidLine).toMatch(/^Error \(VALIDATION_ERROR\): Not a valid security policy/);
      expect(invalidLine).toContain('/name');
      expect(invalidLine).toContain('/grants/0/resource');
      expect(failure(notJsonRun!)).toMatch(
        new RegExp(`^Error: Cannot read policy file ${escapeRegExp(notJson)}: .* is not valid JSON$`),
      );
      expect(failure(builtInRun!)).toMatch(/^Error \(CONFLICT\): "full-access" is a built-in policy/);

      // None of the failures made a client.
      const clients = await server.services.clients.list(tenant);
      expect(clients.map((c) => [c.apiClient, c.policy])).toEqual([[created.apiClient, 'readers']]);
    },
    SLOW_TEST_MS,
  );

  test(
    'unknown tenant or client, invalid or duplicate tenant name: non-zero exit and one line',
    async () => {
      const { cli, tenant: newTenant } = await workspace();
      const tenant = await newTenant(['live']);
      const unknown = randomName();
      const [unknownTenant, unknownClient, invalidName, duplicate] = await Promise.all([
        cli('admin', 'client', 'list', unknown, '--json'),
        cli('admin', 'client', 'disable', tenant, 'NOSUCHCLIENT', '--json'),
        cli('admin', 'tenant', 'create', 'Not_A_Name', '--json'),
        cli('admin', 'tenant', 'create', tenant),
      ]);
      expect(failure(unknownTenant)).toBe(`Error (NOT_FOUND): Tenant "${unknown}" does not exist`);
      expect(failure(unknownClient)).toMatch(/^Error \(NOT_FOUND\): API client "NOSUCHCLIENT" not found/);
      expect(failure(invalidName)).toMatch(/^Error \(VALIDATION_ERROR\): A tenant name must match/);
      expect(failure(duplicate)).toBe(`Error (CONFLICT): Tenant "${tenant}" already exists`);
    },
    SLOW_TEST_MS,
  );
});

describe('configuration errors', () => {
  test(
    'a bad value stops `serve` and admin commands with a message naming the variable',
    async () => {
      const dataDir = tempDir();
      const [port, databaseUrl] = await Promise.all([
        kith(['serve'], { KITH_DATA_DIR: dataDir, KITH_PORT: 'abc' }),
        kith(['admin', 'tenant', 'create', randomName()], {
          KITH_DATA_DIR: dataDir,
          KITH_DATABASE_URL: 'mysql://localhost/kith',
        }),
      ]);
      expect(port.code).toBe(78);
      expect(failure(port)).toMatch(/^Configuration error: KITH_PORT must be a whole number .*"abc"/);
      expect(databaseUrl.code).toBe(78);
      expect(failure(databaseUrl)).toMatch(/^Configuration error: KITH_DATABASE_URL must be a URL/);
      // Nothing was opened or created.
      expect(fs.readdirSync(dataDir)).toEqual([]);
    },
    SLOW_TEST_MS,
  );
});

/** A running `kith serve` child process. */
class ServeProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(env: Env) {
    this.child = spawn(process.execPath, [KITH, 'serve'], {
      cwd: ROOT,
      env: childEnv({ KITH_PORT: '0', KITH_LOG_LEVEL: 'info', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    cleanups.push(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    });
  }

  /** The base URL from pino's "Kith listening on …" line, once it has been printed. */
  get baseUrl(): string | undefined {
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { msg?: unknown };
        const match = typeof entry.msg === 'string' ? /^Kith listening on (\S+)$/.exec(entry.msg) : null;
        if (match) return match[1];
      } catch {
        // a partial line: not yet complete
      }
    }
    return undefined;
  }

  /** Waits until `ready` holds for the output so far; fails early if the process exits. */
  async waitFor(ready: () => boolean, timeoutMs = LAUNCH_TIMEOUT_MS): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (exited || Date.now() > deadline) {
        throw new Error(
          `kith serve ${exited ? 'exited' : 'timed out'}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async listening(): Promise<string> {
    await this.waitFor(() => this.baseUrl !== undefined);
    return this.baseUrl!;
  }

  /** SIGTERM, then the exit, which must come within `withinMs`. */
  async stop(withinMs = 5_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`kith serve did not exit within ${withinMs} ms of SIGTERM`)),
        withinMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const DEMO_MARKERS = [/demo tenant/, /API client:/, /Secret:/, /curl /];
/** The end of the printed demo instructions. */
const DEMO_END = '-H "Authorization: Bearer $TOKEN"\n';

interface DemoCredentials {
  apiClient: string;
  secret: string;
}

/** The credentials printed on a first start, taken from the printed curl command's body. */
function demoCredentials(stdout: string, baseUrl: string): DemoCredentials {
  const apiClient = /^ {2}API client: (\S+)$/m.exec(stdout)?.[1];
  const secret = /^ {2}Secret: {5}(\S+) /m.exec(stdout)?.[1];
  const curl = new RegExp(
    `^ {2}curl -s -X POST ${escapeRegExp(baseUrl)}/auth/token -H 'Content-Type: application/json' -d '(.+)'$`,
    'm',
  ).exec(stdout);
  expect(curl, stdout).not.toBeNull();
  const body = JSON.parse(curl![1]!) as DemoCredentials;
  expect(body).toEqual({ apiClient, secret });
  expect(stdout).toContain(`curl -s ${baseUrl}/demo/live -H "Authorization: Bearer $TOKEN"`);
  return body;
}

/** A token for the credentials from the server `kith serve` process at `baseUrl`. */
async function tokenAt(server: ServeProcess, baseUrl: string, credentials: DemoCredentials): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  const text = await response.text();
  expect(response.status, `${text}\n${server.stdout}`).toBe(200);
  return (JSON.parse(text) as { token: string }).token;
}

/** GET /demo/live with the token: must be 200. */
async function demoLive(server: ServeProcess, baseUrl: string, token: string): Promise<unknown> {
  const response = await fetch(`${baseUrl}/demo/live`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  expect(response.status, `${text}\n${server.stdout}`).toBe(200);
  return JSON.parse(text) as unknown;
}

describe('kith serve (SQLite)', () => {
  test(
    'first start prints working demo credentials; SIGTERM exits 0; a restart keeps them and prints none',
    async () => {
      const dataDir = tempDir();

      const first = new ServeProcess({ KITH_DATA_DIR: dataDir });
      const baseUrl = await first.listening();
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await first.waitFor(() => first.stdout.includes(DEMO_END));
      const credentials = demoCredentials(first.stdout, baseUrl);
      const token = await tokenAt(first, baseUrl, credentials);
      expect(await demoLive(first, baseUrl, token)).toMatchObject({ tenant: 'demo', instance: 'live' });
      expect(await first.stop()).toEqual({ code: 0, signal: null });
      expect(first.stderr).toBe('');

      const second = new ServeProcess({ KITH_DATA_DIR: dataDir });
      const secondUrl = await second.listening();
      // The demo from the first start still works (same database, same stored signing key)…
      await demoLive(second, secondUrl, await tokenAt(second, secondUrl, credentials));
      expect(await second.stop()).toEqual({ code: 0, signal: null });
      // …and is neither recreated nor printed again.
      for (const marker of DEMO_MARKERS) expect(second.stdout).not.toMatch(marker);
    },
    SLOW_TEST_MS,
  );

  test(
    'KITH_NO_DEMO=1 on a fresh directory prints no credentials',
    async () => {
      const server = new ServeProcess({ KITH_DATA_DIR: tempDir(), KITH_NO_DEMO: '1' });
      const baseUrl = await server.listening();
      const health = await fetch(`${baseUrl}/health`);
      expect(health.status, server.stdout).toBe(200);
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      for (const marker of DEMO_MARKERS) expect(server.stdout).not.toMatch(marker);
    },
    SLOW_TEST_MS,
  );

  test(
    'a first start that cannot listen fails in one line, and the next start still prints the demo credentials',
    async () => {
      const dataDir = tempDir();
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
      const port = (blocker.address() as net.AddressInfo).port;

      const failed = await kith(['serve'], { KITH_DATA_DIR: dataDir, KITH_PORT: String(port) });
      expect(failure(failed)).toMatch(/EADDRINUSE/);

      const server = new ServeProcess({ KITH_DATA_DIR: dataDir });
      const baseUrl = await server.listening();
      await server.waitFor(() => server.stdout.includes(DEMO_END));
      const credentials = demoCredentials(server.stdout, baseUrl);
      await demoLive(server, baseUrl, await tokenAt(server, baseUrl, credentials));
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    },
    SLOW_TEST_MS,
  );
});
