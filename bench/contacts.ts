// `npm run bench:contacts -- --engine sqlite|postgres --contacts 100000 …`: the contacts workloads on a seeded
// dataset. Seeds a throwaway database with bench/seed.ts (or uses one seeded before: --data-dir / --database-url),
// captures and explains the list and search SQL (contacts-plans.ts), starts the raw baseline and Kith as child
// processes (bench/children.ts) and drives each workload with autocannon from this process. Prints markdown to
// stdout (progress to stderr) and saves it with the full figures under bench/results/.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { fromJson } from '../src/db/values.ts';
import { startServer, type ServerChild } from './children.ts';
import { measure, renderRun, type ContactSample, type RunFacts } from './contacts-report.ts';
import { captureLists, explainShapes, plansMarkdown } from './contacts-plans.ts';
import type { RawSpec } from './contacts-spec.ts';
import {
  CONTACT_WORKLOADS,
  CREATE_BODY_COUNT,
  listQueries,
  type BenchContext,
} from './contacts-workloads.ts';
import { createBenchDatabase, DEFAULT_POSTGRES_URL, type BenchDatabase } from './engines.ts';
import type { SeedManifest } from './seed.ts';

const USAGE = `Usage: npm run bench:contacts -- [options]
  --engine sqlite|postgres   storage engine (default sqlite)
  --contacts N               seed a throwaway database of N contacts first (default 100000)
  --data-dir DIR             SQLite: use this database, seeded before by bench:seed, instead
  --database-url URL         PostgreSQL: likewise
  --manifest FILE            bench:seed's JSON for --data-dir / --database-url (default: where bench:seed put it)
  --duration SECONDS         measured time per workload (default 10)
  --warmup SECONDS           unmeasured load before each measurement (default 3)
  --connections N            concurrent connections (default 50)
  --workloads a,b            only these Kith workloads (their baselines always run)
  --postgres-url URL         server for the throwaway database (default ${DEFAULT_POSTGRES_URL})
  --plans-only               capture and explain the list/search SQL, measure nothing
  --keep                     keep the throwaway database (its manifest path is printed)
  --cpu-prof                 write a V8 CPU profile of each workload to bench/results/ (skews the ratios)`;

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    contacts: { type: 'string', default: '100000' },
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    manifest: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    workloads: { type: 'string' },
    'postgres-url': { type: 'string', default: DEFAULT_POSTGRES_URL },
    'plans-only': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}
const whole = (name: string, raw: string, min = 1) =>
  Number.isInteger(Number(raw)) && Number(raw) >= min
    ? Number(raw)
    : fail(`--${name}: a whole number ≥ ${min}`);

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const isEngine = (e: string): e is 'sqlite' | 'postgres' => e === 'sqlite' || e === 'postgres';
const engine = isEngine(args.engine) ? args.engine : fail('--engine must be sqlite or postgres');
const settings = {
  duration: whole('duration', args.duration),
  warmup: whole('warmup', args.warmup, 0),
  connections: whole('connections', args.connections),
};
const wanted = args.workloads?.split(',').map((s) => s.trim());
for (const name of wanted ?? []) {
  if (!CONTACT_WORKLOADS.some((w) => w.name === name)) fail(`unknown workload ${name}`);
}
const workloads = CONTACT_WORKLOADS.filter(
  (w) => !wanted || wanted.includes(w.name) || wanted.some((n) => `raw-${n}` === w.name),
);

const here = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = path.join(here, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const progress = (message: string) => process.stderr.write(`[contacts] ${message}\n`);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-contacts-'));
let throwaway: BenchDatabase | undefined;
const children: ServerChild[] = [];

async function cleanUp(): Promise<void> {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  if (throwaway && !args.keep) await throwaway.drop();
  throwaway = undefined;
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

/** The seeded database to use: the one given, or a throwaway one seeded now (its seed time is reported). */
async function seeded(): Promise<{ manifest: SeedManifest; seededNow: boolean }> {
  const given = args['data-dir'] ?? args['database-url'];
  if (given) {
    const file =
      args.manifest ??
      (args['database-url']
        ? path.join(resultsDir, `seed-${new URL(given).pathname.slice(1)}.json`)
        : path.join(given, 'bench-seed.json'));
    return { manifest: JSON.parse(fs.readFileSync(file, 'utf8')) as SeedManifest, seededNow: false };
  }
  throwaway = await createBenchDatabase(engine, args['postgres-url']);
  const out = args.keep ? path.join(resultsDir, `seed-${Date.now()}.json`) : path.join(scratch, 'seed.json');
  const target = throwaway.env.KITH_DATA_DIR
    ? ['--data-dir', throwaway.env.KITH_DATA_DIR]
    : ['--database-url', throwaway.env.KITH_DATABASE_URL!];
  const count = String(whole('contacts', args.contacts));
  progress(`seeding ${count} contacts on ${engine} (${throwaway.location})`);
  const child = promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'seed.ts'), '--contacts', count, '--out', out, ...target],
    { maxBuffer: 1 << 20 },
  );
  child.child.stderr?.pipe(process.stderr);
  await child;
  if (args.keep) progress(`keeping ${throwaway.location}; manifest ${out}`);
  return { manifest: JSON.parse(fs.readFileSync(out, 'utf8')) as SeedManifest, seededNow: true };
}

async function issueToken(url: string, apiClient: string, secret: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiClient, secret }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const { manifest, seededNow } = await seeded();
  if (manifest.engine !== engine) fail(`the manifest is of a ${manifest.engine} database`);
  const env = manifest.databaseUrl
    ? { KITH_DATABASE_URL: manifest.databaseUrl }
    : { KITH_DATA_DIR: manifest.dataDir! };
  const [big, small] = [manifest.tenants[0]!, manifest.tenants[1]!];

  // Ids and phone numbers of live contacts of the big tenant, drawn at random.
  const config = loadConfig({ ...env, KITH_LOG_LEVEL: 'silent' });
  const database = openDatabase(config);
  // Migrations this build adds (an index, say) apply before anything is captured or explained, as Kith would
  // apply them at start.
  await migrate(database);
  const sample = await database.db
    .selectFrom('contacts')
    .select(['id', 'doc'])
    .where('instance_id', '=', big.instanceId)
    .where('deleted_at', 'is', null)
    .orderBy(sql`random()`)
    .limit(2000)
    .execute();
  await database.close();
  const phones = sample.flatMap((r) =>
    fromJson<{ phones: Array<{ e164: string }> }>(r.doc).phones.map((p) => p.e164),
  );
  const lists = listQueries(phones);
  const target = { engine, dataDir: manifest.dataDir, databaseUrl: manifest.databaseUrl };
  progress('capturing the list and search SQL Kith runs, and explaining it');
  const captured = await captureLists(target, big.instanceId, lists);
  const plans = await explainShapes(target, lists, captured);
  const stamp = `${startedAt.toISOString().replace(/[:.]/g, '-')}-contacts-${engine}-${manifest.contacts}`;
  const planText = plansMarkdown(plans);
  if (args['plans-only']) {
    process.stdout.write(`${planText}\n`);
    return;
  }

  const spec: RawSpec = {
    ...target,
    poolSize: config.databasePoolSize,
    readInstanceId: big.instanceId,
    createInstanceId: small.instanceId,
    createSeed: manifest.seed + 1,
    createCount: CREATE_BODY_COUNT,
    lists: captured,
  };
  const specFile = path.join(scratch, 'raw-spec.json');
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const logFile = path.join(resultsDir, `${stamp}.server.log`);
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_')));
  const raw = await startServer({
    script: 'contacts-raw-server.ts',
    env: { ...inherited, BENCH_RAW_SPEC: specFile },
    logFile,
  });
  children.push(raw);
  const kith = await startServer({
    script: 'contacts-kith-server.ts',
    env: { ...inherited, ...env, KITH_LOG_LEVEL: 'warn', KITH_NO_DEMO: '1' },
    logFile,
  });
  children.push(kith);
  const context: BenchContext = {
    readPrefix: `/${big.tenant}/${big.instance}/contacts`,
    createPrefix: `/${small.tenant}/${small.instance}/contacts`,
    readToken: await issueToken(kith.ready.url, big.apiClient, big.secret),
    createToken: await issueToken(kith.ready.url, small.apiClient, small.secret),
    spread: await Promise.all(
      manifest.tenants.slice(1).map(async (t) => ({
        prefix: `/${t.tenant}/${t.instance}/contacts`,
        token: await issueToken(kith.ready.url, t.apiClient, t.secret),
      })),
    ),
    getIds: sample.slice(0, 1000).map((r) => r.id),
    patchIds: sample.slice(1000).map((r) => r.id),
    createSeed: spec.createSeed,
    lists,
  };
  progress(`${engine}, ${manifest.contacts} contacts: Kith at ${kith.ready.url}, raw at ${raw.ready.url}`);

  // Statements still running in the bench database (PostgreSQL; SQLite runs inside the server processes).
  const monitor = manifest.databaseUrl
    ? new pg.Client({ connectionString: manifest.databaseUrl })
    : undefined;
  await monitor?.connect();
  const databaseBusy = async () =>
    monitor
      ? (
          await monitor.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity
             where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
          )
        ).rows[0]!.n > 0
      : false;
  const profileDir = args['cpu-prof'] ? path.join(resultsDir, `${stamp}-profiles`) : undefined;
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const samples: ContactSample[] = [];
  for (const w of workloads) {
    const server = w.server === 'raw' ? raw : kith;
    const sampleOf = await measure(w, server, context, { ...settings, profileDir }, databaseBusy);
    progress(
      `${w.name}: ${Math.round(sampleOf.reqPerSec)} req/s, p50 ${sampleOf.p50} ms, p99 ${sampleOf.p99} ms, ` +
        `statuses ${JSON.stringify(sampleOf.statusCodes)}, backlog worked off in ${sampleOf.backlogSeconds.toFixed(1)} s`,
    );
    samples.push(sampleOf);
  }
  await monitor?.end();
  await cleanUp();

  const cpus = os.cpus();
  const git = (...a: string[]) => execFileSync('git', a, { cwd: here, encoding: 'utf8' }).trim();
  const facts: RunFacts = {
    startedAt: startedAt.toISOString(),
    // The code measured: src moves on, so every result names its commit (and whether src had local changes).
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', '../src') ? ' + local changes in src/' : ''}`,
    engine,
    machine: `${cpus.length} × ${cpus[0]?.model ?? 'unknown'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    loadBefore,
    loadAfter: os.loadavg(),
    settings,
    manifest,
    tenants: manifest.tenants.length,
    bigTenantContacts: big.contacts,
    seededNow,
  };
  const text = `${renderRun(facts, workloads, samples)}\n### Plans (${engine}, ${manifest.contacts} contacts)\n\n${planText}\n`;
  fs.writeFileSync(path.join(resultsDir, `${stamp}.md`), text);
  const { tenants: _secrets, ...dataset } = manifest;
  fs.writeFileSync(
    path.join(resultsDir, `${stamp}.json`),
    `${JSON.stringify({ ...facts, manifest: dataset, samples, plans }, null, 2)}\n`,
  );
  process.stdout.write(text);
  progress(`saved to ${path.join(resultsDir, stamp)}.{md,json}`);
  if (samples.some((s) => s.unexpected > 0)) {
    progress('some responses had an unexpected status (see the table); the figures are suspect');
    process.exitCode = 1;
  }
}

try {
  await main();
} finally {
  await cleanUp().catch(() => undefined);
}
