// `npm run bench -- --engine sqlite|postgres [--duration 10] [--connections 50] …`: starts the raw baseline and
// Kith as two child processes, drives each workload with autocannon from this (parent) process, and prints a
// markdown table of ratios to stdout (progress goes to stderr) and the full figures as JSON to bench/results/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServer, type ServerChild } from './children.ts';
import { createBenchDatabase, DEFAULT_POSTGRES_URL, type BenchDatabase, type Engine } from './engines.ts';
import { render, toSample, type RunRecord, type Sample } from './report.ts';
import { tamperSignature, WORKLOADS, type Workload, type WorkloadContext } from './workloads.ts';

const USAGE = `Usage: npm run bench -- [options]
  --engine sqlite|postgres   storage engine of the server under test (default sqlite)
  --duration SECONDS         measured time per workload and round (default 10)
  --warmup SECONDS           unmeasured load before each measurement (default 3)
  --connections N            concurrent connections (default 50)
  --rounds N                 repeat every workload N times, alternating order; medians are reported (default 1)
  --workloads a,b            only these workloads (default all: ${WORKLOADS.map((w) => w.name).join(', ')})
  --log-level LEVEL          KITH_LOG_LEVEL of the server under test (default warn)
  --postgres-url URL         server to create the throwaway database on (default ${DEFAULT_POSTGRES_URL})
  --report FILE.json         print the tables of a saved run instead of measuring
  --cpu-prof                 write a V8 CPU profile of the Kith child for each measurement to bench/results/`;

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '1' },
    workloads: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    'postgres-url': { type: 'string', default: DEFAULT_POSTGRES_URL },
    'cpu-prof': { type: 'boolean', default: false },
    report: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a whole number ≥ 1`);
  return n;
}

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.engine !== 'sqlite' && args.engine !== 'postgres') fail('--engine must be sqlite or postgres');
const engine: Engine = args.engine;
const duration = positive('duration', args.duration);
const warmup = Number(args.warmup) >= 0 ? Number(args.warmup) : fail('--warmup must be ≥ 0');
const connections = positive('connections', args.connections);
const rounds = positive('rounds', args.rounds);
const wanted = args.workloads?.split(',').map((s) => s.trim());
for (const name of wanted ?? []) {
  if (!WORKLOADS.some((w) => w.name === name)) fail(`unknown workload ${name}`);
}
// Baselines always run: every figure is reported relative to them.
const workloads = WORKLOADS.filter((w) => !wanted || wanted.includes(w.name) || w.server === 'raw');

const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
fs.mkdirSync(resultsDir, { recursive: true });
const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-${engine}`;
const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

let database: BenchDatabase | undefined;
const children: ServerChild[] = [];
async function cleanUp(): Promise<void> {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await database?.drop();
  database = undefined;
}
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

/** The Kith child's environment: this process's, minus any KITH_* setting of the caller, plus the bench's. */
function kithEnv(db: BenchDatabase): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_')));
  return {
    ...inherited,
    ...db.env,
    KITH_LOG_LEVEL: args['log-level'],
    KITH_NO_DEMO: '1',
    // The token workload issues thousands of tokens for one client; the default limit is 100 per 5 minutes.
    KITH_TOKEN_REQUESTS_PER_CLIENT: '1000000',
  };
}

async function issueToken(kithUrl: string, apiClient: string, secret: string): Promise<string> {
  const res = await fetch(`${kithUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiClient, secret }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

async function measure(
  w: Workload,
  server: ServerChild,
  context: WorkloadContext,
  round: number,
): Promise<Sample> {
  const req = w.request(context);
  const options = {
    url: `${server.ready.url}${req.path}`,
    connections,
    method: req.method ?? 'GET',
    headers: req.headers ?? {},
    ...(req.body === undefined ? {} : { body: req.body }),
  };
  if (warmup > 0) await autocannon({ ...options, duration: warmup });
  const profile = args['cpu-prof'] && w.server === 'kith';
  const before = await server.ask({ type: profile ? 'profile-start' : 'cpu' });
  const clientBefore = process.cpuUsage();
  const result = await autocannon({ ...options, duration, title: w.name });
  const client = process.cpuUsage(clientBefore);
  const after = profile
    ? await server.ask({
        type: 'profile-stop',
        file: path.join(resultsDir, `${stamp}-${w.name}-r${round}.cpuprofile`),
      })
    : await server.ask({ type: 'cpu' });
  const cpu = after.cpuMicros - before.cpuMicros;
  const sample = toSample(w, round, result, cpu, client);
  progress(
    `${w.name} (round ${round}): ${Math.round(sample.reqPerSec)} req/s, p50 ${sample.p50} ms, ` +
      `p99 ${sample.p99} ms, server ${sample.serverCpuPerRequest.toFixed(0)} µs CPU/req ` +
      `(${(sample.serverBusy * 100).toFixed(0)}% busy; load generator ${(sample.clientBusy * 100).toFixed(0)}%), statuses ${JSON.stringify(sample.statusCodes)}`,
  );
  return sample;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  if (loadBefore[0]! > os.cpus().length / 2) {
    progress(`load average ${loadBefore[0]!.toFixed(2)}: other processes are busy, expect noisy figures`);
  }
  database = await createBenchDatabase(engine, args['postgres-url']);
  const logFile = path.join(resultsDir, `${stamp}.server.log`);
  const raw = await startServer({ script: 'raw-server.ts', env: process.env, logFile });
  children.push(raw);
  const kith = await startServer({ script: 'kith-server.ts', env: kithEnv(database), logFile });
  children.push(kith);
  const fixture = kith.ready.fixture!;
  const token = await issueToken(kith.ready.url, fixture.apiClient, fixture.secret);
  const context: WorkloadContext = { fixture, token, badToken: tamperSignature(token) };
  progress(`${engine}: Kith at ${kith.ready.url}, raw baseline at ${raw.ready.url}, log in ${logFile}`);

  const samples: Sample[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order so that drift on a shared machine does not always favour the same workload.
    const order = round % 2 === 1 ? workloads : [...workloads].reverse();
    for (const w of order) {
      samples.push(await measure(w, w.server === 'raw' ? raw : kith, context, round));
    }
  }
  await cleanUp();

  const cpus = os.cpus();
  const record: RunRecord = {
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      loadBefore,
      loadAfter: os.loadavg(),
    },
    settings: { engine, duration, warmup, connections, rounds, logLevel: args['log-level'] },
    samples,
  };
  const { text, rows, goals } = render(record, workloads);
  const jsonFile = path.join(resultsDir, `${stamp}.json`);
  fs.writeFileSync(jsonFile, `${JSON.stringify({ ...record, rows, goals }, null, 2)}\n`);
  process.stdout.write(text);
  progress(`JSON written to ${jsonFile}`);
  if (rows.some((r) => r.unexpected > 0)) {
    progress('some responses had an unexpected status (see the table); the figures are suspect');
    process.exitCode = 1;
  }
}

if (args.report) {
  // Re-renders a saved run (e.g. after changing how figures are summarised) without measuring anything.
  process.stdout.write(render(JSON.parse(fs.readFileSync(args.report, 'utf8')) as RunRecord, WORKLOADS).text);
  process.exit(0);
}

try {
  await main();
} catch (error) {
  await cleanUp().catch(() => undefined);
  throw error;
}
