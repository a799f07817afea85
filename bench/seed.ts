// `npm run bench:seed -- --contacts 1000000 [--engine sqlite|postgres] [--data-dir DIR | --database-url URL]`:
// builds the benchmark dataset in an empty Kith database. Tenants, instances and API clients are made through
// the services (as `kith admin` and test/harness.ts do); the contacts are built by the service's own pure
// functions (contacts-rows.ts) and bulk-loaded (contacts-load.ts). The clients' keys and secrets, and what the
// workloads need to know about the data, go to a JSON file next to the data (bench:contacts reads it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createServices } from '../src/services.ts';
import { PHONE_POOL } from './contacts-data.ts';
import { loadContacts, type LoadTarget } from './contacts-load.ts';
import { instanceOf, type DatasetPlan } from './contacts-rows.ts';

const USAGE = `Usage: npm run bench:seed -- --contacts N [options]
  --contacts N            contacts to create (required), e.g. 100000 or 1000000
  --engine sqlite|postgres  default sqlite, or postgres when --database-url is given
  --data-dir DIR          SQLite: directory of kith.db (default ./data/bench-N); must hold no contacts yet
  --database-url URL      PostgreSQL: an existing, empty database (migrations are applied)
  --tenants N             tenants, each with instance "live" and one API client (default 20)
  --seed N                random seed: the same seed builds the same data (default 42)
  --workers N             row-building worker threads (default: the number of cores)
  --batch-size N          rows per insert transaction (default 10000)
  --out FILE              the JSON file of credentials and dataset facts (default: next to the data)`;

/** What bench:contacts needs to find and use a seeded database. */
export interface SeedManifest {
  engine: 'sqlite' | 'postgres';
  /** SQLite: the KITH_DATA_DIR; PostgreSQL: the KITH_DATABASE_URL. */
  dataDir?: string;
  databaseUrl?: string;
  contacts: number;
  seed: number;
  epoch: string;
  phonePool: number;
  tenants: Array<{
    tenant: string;
    instance: string;
    instanceId: string;
    apiClient: string;
    secret: string;
    contacts: number;
  }>;
  seedSeconds: number;
  timings: { setup: number; insert: number; indexes: number; analyze: number };
  createdAt: string;
}

const { values: args } = parseArgs({
  options: {
    contacts: { type: 'string' },
    engine: { type: 'string' },
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    tenants: { type: 'string', default: '20' },
    seed: { type: 'string', default: '42' },
    workers: { type: 'string', default: String(os.availableParallelism()) },
    'batch-size': { type: 'string', default: '10000' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}
function whole(name: string, raw: string | undefined, min = 1): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < min) fail(`--${name} must be a whole number ≥ ${min}`);
  return n;
}

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const count = whole('contacts', args.contacts);
const engine = args.engine ?? (args['database-url'] ? 'postgres' : 'sqlite');
if (engine !== 'sqlite' && engine !== 'postgres') fail('--engine must be sqlite or postgres');
if (engine === 'postgres' && !args['database-url']) fail('--engine postgres needs --database-url');
if (engine === 'sqlite' && args['database-url']) fail('--database-url is for --engine postgres');
const tenantCount = whole('tenants', args.tenants, 2);
const seed = whole('seed', args.seed, 0);
const dataDir = path.resolve(args['data-dir'] ?? path.join('data', `bench-${count}`));
const databaseUrl = engine === 'postgres' ? args['database-url'] : undefined;
const progress = (message: string) => process.stderr.write(`[seed] ${message}\n`);
// Not `npm run bench` (bench/results holds that harness's runs): PostgreSQL manifests are named by database.
const out = path.resolve(
  args.out ??
    (databaseUrl
      ? path.join('bench', 'results', `seed-${new URL(databaseUrl).pathname.slice(1)}.json`)
      : path.join(dataDir, 'bench-seed.json')),
);

const started = performance.now();
const config = loadConfig({ KITH_NO_DEMO: '1', KITH_LOG_LEVEL: 'silent' }, { dataDir, databaseUrl });
const database = openDatabase(config);
await migrate(database);
const existing = await database.db
  .selectFrom('contacts')
  .select((eb) => eb.fn.countAll<number>().as('n'))
  .executeTakeFirstOrThrow();
if (Number(existing.n) > 0) {
  await database.close();
  fail(`${database.location} already holds contacts: the dataset builder needs an empty database`);
}

// Tenants 00..N-1; tenant 00 gets every other contact (half), the rest share the other half.
const services = await createServices({ config, database });
const tenants: SeedManifest['tenants'] = [];
const authors: string[] = [];
for (let t = 0; t < tenantCount; t++) {
  const tenant = `bench-${String(t).padStart(2, '0')}`;
  await services.tenants.createTenant(tenant);
  const instance = await services.tenants.createInstance(tenant, 'live', { phoneRegion: 'US' });
  const client = await services.clients.create({
    tenant,
    name: `${tenant} bench`,
    instances: ['live'],
    policy: 'full-access',
  });
  // createdBy / updatedBy hold the client's id (what the service records), not its public key.
  const { id } = await database.db
    .selectFrom('api_clients')
    .select('id')
    .where('key', '=', client.apiClient)
    .executeTakeFirstOrThrow();
  authors.push(id);
  tenants.push({
    tenant,
    instance: 'live',
    instanceId: instance.id,
    apiClient: client.apiClient,
    secret: client.secret,
    contacts: 0,
  });
}
await services.rateLimits.close();
await database.close();
const setupSeconds = (performance.now() - started) / 1000;

const epoch = new Date('2026-01-01T00:00:00.000Z');
const plan: DatasetPlan = {
  seed,
  instances: tenants.map((t) => t.instanceId),
  authors,
  epochMs: epoch.getTime(),
  engine,
};
for (let i = 0; i < count; i++) tenants[instanceOf(i, plan)]!.contacts++;
const target: LoadTarget =
  engine === 'sqlite' ? { engine, file: path.join(dataDir, 'kith.db') } : { engine, url: databaseUrl! };
progress(`${engine}: ${count} contacts over ${tenantCount} tenants into ${database.location}`);
const timings = await loadContacts(target, plan, count, {
  workers: whole('workers', args.workers),
  batchSize: whole('batch-size', args['batch-size']),
  progress,
});

const seedSeconds = (performance.now() - started) / 1000;
const manifest: SeedManifest = {
  engine,
  ...(engine === 'sqlite' ? { dataDir } : { databaseUrl }),
  contacts: count,
  seed,
  epoch: epoch.toISOString(),
  phonePool: PHONE_POOL,
  tenants,
  seedSeconds,
  timings: {
    setup: setupSeconds,
    insert: timings.insertSeconds,
    indexes: timings.indexSeconds,
    analyze: timings.analyzeSeconds,
  },
  createdAt: new Date().toISOString(),
};
fs.mkdirSync(path.dirname(out), { recursive: true });
// The secrets are bench credentials for a throwaway dataset; still, only the owner may read them.
fs.writeFileSync(out, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
const f = (s: number) => s.toFixed(1);
progress(
  `done in ${f(seedSeconds)} s (${Math.round(count / seedSeconds)} contacts/s): setup ${f(setupSeconds)} s, ` +
    `insert ${f(timings.insertSeconds)} s (${Math.round(count / timings.insertSeconds)} rows/s), ` +
    `indexes ${f(timings.indexSeconds)} s, analyze ${f(timings.analyzeSeconds)} s`,
);
progress(`credentials and dataset facts: ${out}`);
process.stdout.write(`${JSON.stringify({ seedSeconds, rowsPerSecond: count / seedSeconds, out })}\n`);
