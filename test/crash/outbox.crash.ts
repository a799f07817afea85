// The crash test (`npm run test:crash`, PostgreSQL): a real Kith process serving a write loop is killed with
// SIGKILL at random moments and restarted, again and again. Afterwards every acknowledged write is in the
// database, every committed change has exactly one event in a gap-free sequence, the change feed lists them all,
// and a local receiver has had every event by webhook at least once (and nothing that did not commit).
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, onTestFailed, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { fromJson } from '../../src/db/values.ts';
import { createServices } from '../../src/services.ts';
import {
  checkDeliveries,
  checkSequence,
  checkWrites,
  summarise,
  type ContactRow,
  type EventRow,
} from './checks.ts';
import { freePort, KithProcess, sleep } from './kith-process.ts';
import { startReceiver, type Receiver } from './receiver.ts';
import { startWriteLoop } from './write-loop.ts';

/** KITH_CRASH_KILLS=n runs a longer (or, below 10, a failing) test. */
const KILLS = Number(process.env.KITH_CRASH_KILLS ?? 12);
const WRITERS = 4;
/**
 * When to kill: after a random number of acknowledged writes since the restart (so every kill lands in the
 * middle of writing, however slowly the machine runs), plus a random delay, so it falls mid-request, mid-commit or
 * mid-delivery by chance.
 */
const WRITES_BEFORE_KILL = { min: 3, max: 30 };
const EXTRA_DELAY_MS = 300;
/**
 * Deliveries a killed node had claimed stay leased for 60 s before another process sends them again, so the
 * receiver may wait that long after the last kill, plus the retries' first 5 s step; the margin is for a slow machine.
 */
const DRAIN_MS = 180_000;

const TENANT = `crash-${randomBytes(4).toString('hex')}`;
const INSTANCE = 'live';
const root = `/${TENANT}/${INSTANCE}`;

let database: Database;
let receiver: Receiver;
let kith: KithProcess;
let workDir: string;
let client: { apiClient: string; secret: string };

beforeAll(async () => {
  const databaseUrl = inject('databaseUrl');
  if (!databaseUrl) throw new Error('the crash test needs PostgreSQL (KITH_DATABASE_URL)');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-crash-'));
  receiver = await startReceiver();
  const settings = {
    KITH_DATABASE_URL: databaseUrl,
    KITH_HOST: '127.0.0.1',
    KITH_PORT: String(await freePort()),
    KITH_NO_DEMO: '1',
    KITH_LOG_LEVEL: 'warn',
    KITH_JWT_SECRET: randomBytes(32).toString('hex'),
    KITH_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
    KITH_WEBHOOK_POLL_MS: '200',
  };
  // The fixture is made through the services, as test/harness.ts does, on the database the server will use.
  const config = loadConfig(settings, { dataDir: workDir });
  database = openDatabase({ ...config, databasePoolSize: 4 });
  await migrate(database);
  const services = await createServices({ config, database });
  await services.tenants.createTenant(TENANT);
  await services.tenants.createInstance(TENANT, INSTANCE);
  const created = await services.clients.create({
    tenant: TENANT,
    instances: [INSTANCE],
    policy: 'full-access',
  });
  client = { apiClient: created.apiClient, secret: created.secret };
  await services.rateLimits.close();
  kith = new KithProcess(settings, path.join(workDir, 'kith.log'));
  await kith.start();
});

afterAll(async () => {
  await kith?.stop();
  await receiver?.close();
  await database?.close();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

async function api<T>(method: string, url: string, token: string | undefined, body?: unknown): Promise<T> {
  const res = await fetch(`${kith.baseUrl}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function readEvents(): Promise<{ events: EventRow[]; lastSeq: number }> {
  const instance = await database.db
    .selectFrom('instances')
    .innerJoin('tenants', 'tenants.id', 'instances.tenant_id')
    .select('instances.id')
    .where('tenants.name', '=', TENANT)
    .where('instances.name', '=', INSTANCE)
    .executeTakeFirstOrThrow();
  const rows = await database.db
    .selectFrom('events')
    .select(['id', 'seq', 'type', 'resource_id', 'data'])
    .where('instance_id', '=', instance.id)
    .orderBy('seq')
    .execute();
  const sequence = await database.db
    .selectFrom('event_sequences')
    .select('last_seq')
    .where('instance_id', '=', instance.id)
    .executeTakeFirst();
  const events = rows.map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    type: r.type,
    resourceId: r.resource_id,
    data: fromJson<EventRow['data']>(r.data),
  }));
  return { events, lastSeq: Number(sequence?.last_seq ?? 0) };
}

async function readContacts(): Promise<ContactRow[]> {
  const rows = await database.db
    .selectFrom('contacts')
    .innerJoin('instances', 'instances.id', 'contacts.instance_id')
    .innerJoin('tenants', 'tenants.id', 'instances.tenant_id')
    .select(['contacts.id', 'contacts.version', 'contacts.deleted_at', 'contacts.doc'])
    .where('tenants.name', '=', TENANT)
    .execute();
  return rows.map((r) => {
    const doc = fromJson<{ lastName?: string | null; notes?: string | null }>(r.doc);
    return {
      id: r.id,
      version: Number(r.version),
      deleted: r.deleted_at !== null,
      lastName: doc.lastName ?? null,
      notes: doc.notes ?? null,
    };
  });
}

/** Deliveries not yet DELIVERED, counted by status: pending (perhaps leased by a dead node) or given up. */
function readUnsettled() {
  return database.db
    .selectFrom('webhook_deliveries')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '<>', 'DELIVERED')
    .groupBy('status')
    .execute();
}

/** Every event through the change feed, page by page, as a client keeping a sync token would read them. */
async function readChangeFeed(token: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const query = `limit=500${cursor ? `&since=${cursor}` : ''}`;
    const page = await api<{ data: { id: string }[]; nextCursor: string; hasMore: boolean }>(
      'GET',
      `${root}/changes?${query}`,
      token,
    );
    ids.push(...page.data.map((e) => e.id));
    cursor = page.nextCursor;
    if (!page.hasMore) return ids;
  }
}

test(
  'after repeated SIGKILLs every acknowledged write is kept, every committed change has one event, and every ' +
    'event reaches the webhook receiver',
  async () => {
    // The servers' logs go with the temporary directory; a failure shows their end.
    onTestFailed(() => {
      const lines = fs.readFileSync(kith.logFile, 'utf8').trimEnd().split('\n');
      console.error(`last lines of ${kith.logFile}:\n${lines.slice(-40).join('\n')}`);
    });
    const { token } = await api<{ token: string }>('POST', '/auth/token', undefined, client);
    const hook = await api<{ secret: string }>('POST', `${root}/webhooks`, token, {
      url: receiver.url,
      eventTypes: ['contact.created', 'contact.updated', 'contact.deleted', 'contact.restored'],
      description: 'crash test receiver',
    });
    receiver.setSecret(hook.secret);

    const loop = startWriteLoop({ baseUrl: kith.baseUrl, root, token, writers: WRITERS });
    const started = Date.now();
    let downMs = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      const target = loop.log.counts.acked + randomInt(WRITES_BEFORE_KILL.min, WRITES_BEFORE_KILL.max + 1);
      const patience = Date.now() + 60_000;
      while (loop.log.counts.acked < target && Date.now() < patience) await sleep(10);
      await sleep(Math.random() * EXTRA_DELAY_MS);
      const down = Date.now();
      await kith.kill();
      await sleep(Math.random() * 300);
      await kith.start();
      downMs += Date.now() - down;
    }
    await sleep(1000);
    const log = await loop.stop();
    const loopMs = Date.now() - started;

    // Kith keeps running: wait until the receiver has every committed event and the delivery queue is settled —
    // deliveries a killed node had claimed (perhaps even sent) stay leased until their lease runs out.
    const drainStart = Date.now();
    const deadline = drainStart + DRAIN_MS;
    let { events, lastSeq } = await readEvents();
    let unsettled = await readUnsettled();
    while (
      Date.now() < deadline &&
      (unsettled.length > 0 || events.some((e) => !receiver.received.has(e.id)))
    ) {
      await sleep(1000);
      ({ events, lastSeq } = await readEvents());
      unsettled = await readUnsettled();
    }
    const drainMs = Date.now() - drainStart;
    const contacts = await readContacts();
    const feed = await readChangeFeed(token);
    const writes = checkWrites(log, contacts, events);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
    console.info(
      `crash test: ${kith.starts - 1} kills in ${seconds(loopMs)} (down ${seconds(downMs)}), ` +
        `deliveries drained ${seconds(drainMs)} later; ${summarise(log, events, receiver.deliveries)}; ` +
        `${writes.committedUnanswered} unanswered writes had committed`,
    );
    expect(kith.starts - 1).toBeGreaterThanOrEqual(10);
    // Enough happened for the checks to mean something.
    expect(log.counts.acked).toBeGreaterThanOrEqual(KILLS * WRITES_BEFORE_KILL.min);
    expect(log.unexpected).toEqual([]);
    expect(checkSequence(events, lastSeq)).toEqual([]);
    expect(writes.problems).toEqual([]);
    expect(feed).toEqual(events.map((e) => e.id));
    expect(checkDeliveries(events, receiver.deliveries, receiver.rejected)).toEqual([]);
    expect(unsettled).toEqual([]);
  },
);
