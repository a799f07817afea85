// The hash chain: tampering is found (in-process and by `kith admin audit verify`), appends from concurrent
// requests and from several nodes never fork or gap it, buffered rows survive a clean shutdown, exports are
// recorded at once.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startKith, type Kith } from '../../../test/harness.ts';
import { contact } from '../../../test/factories.ts';
import { canonicalRow, canonicalRowByLibrary, hashRow } from './audit.chain.ts';
import { tamper, workspace } from './audit.fixtures.ts';
import { walk } from './audit.repository.ts';
import { blankEntry } from './audit.service.ts';
import type { ChainReport } from './audit.verify.ts';

const ON_POSTGRES = Boolean(inject('databaseUrl'));

let kith: Kith;
beforeAll(async () => {
  kith = await startKith();
});
afterAll(async () => kith.close());

/**
 * A tenant whose chain holds its set-up (`base` rows: the tenant, its instance and its client created), then
 * `writes` contact creations and one read.
 */
async function chainOf(writes: number) {
  const s = await workspace(kith);
  const tenantId = await s.tenantId();
  const verify = async () => (await kith.services.audit.verify({ tenantId }))[0]!;
  const base = (await verify()).rows;
  const ids: string[] = [];
  for (let i = 0; i < writes; i++) ids.push((await s.call('POST', '/contacts', { body: contact() })).body.id);
  await s.call('GET', `/contacts/${ids[0]}`);
  await kith.services.audit.flush();
  return { ...s, ids, tenantId, verify, base };
}

describe('audit chain: hashing', () => {
  it("hashes each row's RFC 8785 canonical JSON, exactly as a JCS library writes it", async () => {
    const c = await chainOf(2);
    await c.call('GET', '/contacts?search=x&size=3', { headers: { 'user-agent': 'Bröwser "q" \\ ÿ' } });
    await kith.services.audit.flush();
    const rows = await walk(c.tenantId, kith.database.db, { after: 0, through: 100, limit: 100 });
    const setUp = ['tenant', 'instance', 'api_client'];
    expect(rows.slice(0, c.base).every((r) => setUp.includes(r.resourceType!))).toBe(true);
    expect(rows.slice(c.base).map((r) => [r.resourceType, r.action])).toEqual([
      ['contact', 'created'],
      ['contact', 'created'],
      ['contact', 'read'],
      ['contact', 'listed'],
    ]);
    for (const row of rows) {
      expect(canonicalRow(row)).toBe(canonicalRowByLibrary(row));
      expect(hashRow(row)).toBe(row.hash);
    }
    expect(rows[c.base + 3]!.query).toBe('{"search":"[redacted]","size":3}');
    const exotic = { ...rows[c.base]!, userAgent: '✓ 😀 \u2028 \u0000 é', route: null, status: 0 };
    expect(canonicalRow(exotic)).toBe(canonicalRowByLibrary(exotic));
  });
});

describe('audit chain: tampering', () => {
  it('refuses to update or delete a row', async () => {
    const { tenantId } = await chainOf(1);
    const { db } = kith.database;
    await expect(
      sql`update audit_log set ip = '10.0.0.1' where chain = ${tenantId}`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log where chain = ${tenantId}`.execute(db)).rejects.toThrow(
      /append-only/,
    );
  });

  it('finds a changed row, even with its own hash recomputed', async () => {
    const c = await chainOf(4);
    const last = c.base + 5;
    expect(await c.verify()).toMatchObject({ ok: true, rows: last, problem: null, head: { seq: last } });
    const first = c.base + 1;
    await tamper(
      kith,
      sql`update audit_log set resource_id = ${c.ids[3]} where chain = ${c.tenantId} and seq = ${first}`,
    );
    expect((await c.verify()).problem).toMatchObject({ kind: 'changed', seq: first });

    // Rewriting the hash too only moves the break to the next row's link.
    const other = await chainOf(3);
    const at = other.base + 1;
    const [row] = await walk(other.tenantId, kith.database.db, { after: at - 1, through: at, limit: 1 });
    const forged = { ...row!, ip: '10.9.9.9' };
    await tamper(
      kith,
      sql`update audit_log set ip = ${forged.ip}, hash = ${hashRow(forged)} where id = ${row!.id}`,
    );
    expect((await other.verify()).problem).toMatchObject({ kind: 'relinked', seq: at + 1 });
  });

  it('finds a deleted row, a deleted last row, and a row added past the head', async () => {
    const middle = await chainOf(3);
    const gone = middle.base + 2;
    await tamper(kith, sql`delete from audit_log where chain = ${middle.tenantId} and seq = ${gone}`);
    expect((await middle.verify()).problem).toMatchObject({ kind: 'deleted', seq: gone });

    const tail = await chainOf(3);
    const tailEnd = tail.base + 4;
    await tamper(kith, sql`delete from audit_log where chain = ${tail.tenantId} and seq = ${tailEnd}`);
    expect((await tail.verify()).problem).toMatchObject({ kind: 'deleted', seq: tailEnd });

    const added = await chainOf(2);
    await tamper(
      kith,
      sql`insert into audit_log (id, chain, seq, at, actor_type, action, prev_hash, hash)
          select 'aud_forged', chain, ${added.base + 4}, at, actor_type, action, hash, hash from audit_log
          where chain = ${added.tenantId} and seq = ${added.base + 3}`,
    );
    expect((await added.verify()).problem).toMatchObject({
      kind: 'inserted',
      seq: added.base + 4,
      rowId: 'aud_forged',
    });
  });

  it('`kith admin audit verify` reports a sound chain with exit 0 and a broken one with exit 1', async () => {
    const c = await chainOf(2);
    const cli = (...args: string[]) =>
      runKith(['admin', 'audit', 'verify', '--tenant', c.tenant.name, ...args]);
    const sound = await cli('--json');
    expect(sound.code, sound.stderr).toBe(0);
    const report = JSON.parse(sound.stdout) as { ok: boolean; chains: ChainReport[] };
    expect(report).toMatchObject({
      ok: true,
      chains: [{ tenant: c.tenant.name, rows: c.base + 3, ok: true }],
    });

    await tamper(kith, sql`update audit_log set action = 'read' where chain = ${c.tenantId} and seq = 1`);
    const broken = await cli();
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^${c.tenant.name}: BROKEN at row 1: .*\\[changed\\]\\n$`));
  }, 120_000);
});

describe('audit chain: concurrent appenders', () => {
  it('concurrent writes and reads make one unbroken chain', async () => {
    const s = await workspace(kith);
    const tenantId = await s.tenantId();
    const verify = async () => (await kith.services.audit.verify({ tenantId }))[0]!;
    const base = (await verify()).rows;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0 ? s.call('GET', '/contacts') : s.call('POST', '/contacts', { body: contact() }),
      ),
    );
    await kith.services.audit.flush();
    expect(await verify()).toMatchObject({ ok: true, rows: base + 30 });
  });

  it('appends a batch larger than one INSERT statement as one unbroken run', async () => {
    const s = await workspace(kith);
    const tenantId = await s.tenantId();
    const verify = async () => (await kith.services.audit.verify({ tenantId }))[0]!;
    const base = (await verify()).rows;
    // 250 rows: the buffer's batch size (200) flushes as two INSERTs of 100, the last sharing its statement with
    // the chain head on PostgreSQL; the other 50 follow.
    const at = new Date().toISOString();
    for (let i = 0; i < 250; i++) {
      kith.services.audit.enqueue({ ...blankEntry(at), tenantId, action: 'read', resourceId: `r${i}` });
    }
    await kith.services.audit.flush();
    expect(await verify()).toMatchObject({ ok: true, rows: base + 250 });
    const rows = await walk(tenantId, kith.database.db, { after: base, through: base + 250, limit: 300 });
    expect(rows.map((r) => r.resourceId)).toEqual(Array.from({ length: 250 }, (_, i) => `r${i}`));
  });

  it.skipIf(!ON_POSTGRES)(
    'two nodes on one PostgreSQL append to one chain without a fork or a gap',
    async () => {
      const other = await startKith({ dataDir: kith.config.dataDir, databaseUrl: kith.config.databaseUrl });
      try {
        const s = await workspace(kith);
        const token = await s.tenant.token();
        const tenantId = await s.tenantId();
        const base = (await kith.services.audit.verify({ tenantId }))[0]!.rows;
        const via = (node: Kith, i: number) =>
          i % 4 === 0
            ? node.request('GET', `${s.root}/contacts`, { token })
            : node.request('POST', `${s.root}/contacts`, { token, body: contact() });
        await Promise.all(Array.from({ length: 40 }, (_, i) => via(i % 2 === 0 ? kith : other, i)));
        await Promise.all([kith.services.audit.flush(), other.services.audit.flush()]);
        const [report] = await kith.services.audit.verify({ tenantId });
        expect(report).toMatchObject({ ok: true, rows: base + 40 });
      } finally {
        await other.close();
      }
    },
  );

  it('a node shutting down appends what it buffered', async () => {
    const s = await workspace(kith);
    const c = (await s.call('POST', '/contacts', { body: contact() })).body;
    const other = await startKith({ dataDir: kith.config.dataDir, databaseUrl: kith.config.databaseUrl });
    const token = await s.tenant.token();
    for (let i = 0; i < 3; i++) await other.request('GET', `${s.root}/contacts/${c.id}`, { token });
    // Not other.close(): on SQLite it would delete the data directory both nodes share.
    await other.app.close();
    await other.services.rateLimits.close();
    await other.database.close();
    expect((await s.audit('?action=read')).data).toHaveLength(3);
  });
});

describe('audit: exports', () => {
  it('records an export at once, with who, what and the count', async () => {
    const s = await workspace(kith);
    const tenant = await kith.services.tenants.getTenant(s.tenant.name);
    const [live] = (await kith.services.tenants.listInstances(tenant.id)).filter((i) => i.name === 'live');
    const scope = {
      tenantId: tenant.id,
      tenant: tenant.name,
      instanceId: live!.id,
      instance: 'live',
      phoneRegion: 'US',
    };
    await kith.services.audit.recordExport(
      { scope, actor: { id: 'client-1', name: 'API_CLIENT:exporter' }, requestId: 'req-1' },
      { resource: 'contact', query: { format: 'ndjson' }, count: 42 },
      { method: 'GET', route: '/:tenant/:instance/export/contacts', ip: '127.0.0.1', userAgent: 'x' },
    );
    const rows = await kith.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_type', 'result_count', 'actor_name', 'route', 'query'])
      .where('chain', '=', tenant.id)
      .where('action', '=', 'exported')
      .execute();
    expect(rows).toEqual([
      {
        action: 'exported',
        resource_type: 'contact',
        result_count: 42,
        actor_name: 'API_CLIENT:exporter',
        route: '/:tenant/:instance/export/contacts',
        query: '{"format":"ndjson"}',
      },
    ]);
  });
});

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the real `kith` command on this file's database. */
function runKith(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('KITH_')));
  Object.assign(
    env,
    kith.config.databaseUrl
      ? { KITH_DATABASE_URL: kith.config.databaseUrl }
      : { KITH_DATA_DIR: kith.config.dataDir },
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'kith.js'), ...args],
      { cwd: ROOT, env, timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
