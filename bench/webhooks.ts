// `npm run bench:webhooks -- [--engine sqlite|postgres] [--subscribers 0,1,5] [--rounds 3] …`: contact creation
// throughput while Kith delivers every new contact to 0, 1 and 5 webhook endpoints. One Kith child (as `kith
// serve`, dispatcher running) and one receiver child (answers 200 at once); this process drives each phase with
// autocannon against an instance with that many endpoints. The figure that matters is the ratio to the
// 0-subscriber phase of the same round (goal ≥ 0.9×). Before each measurement the delivery backlog is drained,
// so a phase never pays for the previous one's deliveries; how long the backlog took to drain is reported.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServer, type ServerChild } from './children.ts';
import { createBenchDatabase, DEFAULT_POSTGRES_URL, type BenchDatabase, type Engine } from './engines.ts';
import { toSample, type Sample } from './report.ts';

const USAGE = `Usage: npm run bench:webhooks -- [options]
  --engine sqlite|postgres   storage engine of the server under test (default sqlite)
  --subscribers 0,1,5        webhook endpoints per phase (default 0,1,5; 0 is the reference and always runs)
  --duration SECONDS         measured time per phase and round (default 10)
  --warmup SECONDS           unmeasured load before each measurement (default 3)
  --connections N            concurrent connections (default 10)
  --rounds N                 repeat every phase N times, alternating order; medians are reported (default 3)
  --drain-timeout SECONDS    longest wait for the delivery backlog between phases (default 300)
  --log-level LEVEL          KITH_LOG_LEVEL of the server under test (default warn)
  --postgres-url URL         server to create the throwaway database on (default ${DEFAULT_POSTGRES_URL})`;

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    subscribers: { type: 'string', default: '0,1,5' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'drain-timeout': { type: 'string', default: '300' },
    'log-level': { type: 'string', default: 'warn' },
    'postgres-url': { type: 'string', default: DEFAULT_POSTGRES_URL },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function whole(name: string, raw: string, min = 1): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number ≥ ${min}`);
  return n;
}

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.engine !== 'sqlite' && args.engine !== 'postgres') fail('--engine must be sqlite or postgres');
const engine: Engine = args.engine;
const counts = [
  ...new Set([0, ...args.subscribers.split(',').map((s) => whole('subscribers', s.trim(), 0))]),
];
const duration = whole('duration', args.duration);
const warmup = whole('warmup', args.warmup, 0);
const connections = whole('connections', args.connections);
const rounds = whole('rounds', args.rounds);
const drainTimeoutMs = whole('drain-timeout', args['drain-timeout']) * 1000;

const progress = (message: string) => process.stderr.write(`[bench:webhooks] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const instanceOf = (n: number) => `s${n}`;
/** Longer than the dispatcher's poll interval (1 s), which picks up anything a wake-up missed. */
const QUIET_MS = 1500;

interface Phase {
  subscribers: number;
  round: number;
  sample: Sample;
  /** Contacts created (201) in the measured window. */
  created: number;
  /** Deliveries the receiver got during the measured window, per second. */
  deliveriesPerSec: number;
  /** Deliveries still owed when the window closed. */
  backlog: number;
  /** Time from the window's end until every delivery had arrived, in s. */
  drainSeconds: number;
  /** The receiver's CPU time per delivery in µs (it shares the machine with Kith). */
  receiverCpuPerDelivery: number;
}

let database: BenchDatabase | undefined;
const children: ServerChild[] = [];
async function cleanUp(): Promise<void> {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await database?.drop();
  database = undefined;
}
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

async function call<T>(url: string, init: RequestInit & { expect: number }): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Deliveries owed so far (subscribers × contacts created, over every phase) and those received. autocannon counts
 * only the answers it read: a request cut off at the end of a run may still have created a contact, so `expected`
 * is a lower bound and a drain also waits for the receiver to go quiet.
 */
class Ledger {
  expected = 0;
  constructor(private readonly receiverUrl: string) {}
  async received(): Promise<number> {
    return (await call<{ received: number }>(`${this.receiverUrl}/count`, { expect: 200 })).received;
  }
  /** Waits until every delivery owed has arrived; returns how long after the call the last one came, in ms. */
  async drain(): Promise<number> {
    const start = Date.now();
    let count = await this.received();
    let lastArrival = start;
    while (count < this.expected || Date.now() - lastArrival < QUIET_MS) {
      if (Date.now() - start > drainTimeoutMs) {
        throw new Error(`deliveries not drained in ${drainTimeoutMs} ms: ${count}/${this.expected}`);
      }
      await sleep(100);
      const now = await this.received();
      if (now !== count) lastArrival = Date.now();
      count = now;
    }
    this.expected = Math.max(this.expected, count);
    return lastArrival - start;
  }
}

const created = (result: autocannon.Result) => result.statusCodeStats['201']?.count ?? 0;

async function measure(
  n: number,
  round: number,
  kith: ServerChild,
  receiver: ServerChild,
  ledger: Ledger,
  token: string,
): Promise<Phase> {
  const options = {
    url: `${kith.ready.url}/bench/${instanceOf(n)}/contacts`,
    connections,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      firstName: 'Webhook',
      lastName: 'Bench',
      emails: [{ address: 'bench@example.com' }],
    }),
  };
  if (warmup > 0) {
    ledger.expected += n * created(await autocannon({ ...options, duration: warmup }));
    await ledger.drain();
  }
  const [kithBefore, receiverBefore, receivedBefore] = await Promise.all([
    kith.ask({ type: 'cpu' }),
    receiver.ask({ type: 'cpu' }),
    ledger.received(),
  ]);
  const clientBefore = process.cpuUsage();
  const result = await autocannon({ ...options, duration, title: `${n} subscribers` });
  const client = process.cpuUsage(clientBefore);
  const [kithAfter, receiverAfter, receivedAfter] = await Promise.all([
    kith.ask({ type: 'cpu' }),
    receiver.ask({ type: 'cpu' }),
    ledger.received(),
  ]);
  const made = created(result);
  ledger.expected += n * made;
  const backlog = Math.max(0, ledger.expected - receivedAfter);
  const drainMs = await ledger.drain();
  const deliveries = receivedAfter - receivedBefore;
  const sample = toSample(
    { name: `${n} subscribers`, expectedStatus: 201 },
    round,
    result,
    kithAfter.cpuMicros - kithBefore.cpuMicros,
    client,
  );
  const phase: Phase = {
    subscribers: n,
    round,
    sample,
    created: made,
    deliveriesPerSec: deliveries / result.duration,
    backlog,
    drainSeconds: drainMs / 1000,
    receiverCpuPerDelivery: deliveries
      ? (receiverAfter.cpuMicros - receiverBefore.cpuMicros) / deliveries
      : 0,
  };
  progress(
    `${n} subscriber(s), round ${round}: ${Math.round(sample.reqPerSec)} contacts/s, p50 ${sample.p50} ms, ` +
      `p99 ${sample.p99} ms, Kith ${sample.serverCpuPerRequest.toFixed(0)} µs CPU/req ` +
      `(${(sample.serverBusy * 100).toFixed(0)}% busy), ${Math.round(phase.deliveriesPerSec)} deliveries/s, ` +
      `backlog ${backlog} drained in ${phase.drainSeconds.toFixed(1)} s, statuses ${JSON.stringify(sample.statusCodes)}`,
  );
  return phase;
}

interface Row {
  subscribers: number;
  reqPerSec: number;
  /** Median over rounds of this phase's req/s ÷ the 0-subscriber phase's req/s in the same round. */
  throughputRatio: number;
  p50: number;
  p99: number;
  kithCpuPerRequest: number;
  cpuRatio: number;
  deliveriesPerSec: number;
  backlog: number;
  drainSeconds: number;
  receiverCpuPerDelivery: number;
  unexpected: number;
}

function summarise(phases: Phase[]): Row[] {
  return counts.map((n) => {
    const mine = phases.filter((p) => p.subscribers === n);
    const reference = (p: Phase) => phases.find((q) => q.subscribers === 0 && q.round === p.round)!.sample;
    const med = (f: (p: Phase) => number) => median(mine.map(f));
    return {
      subscribers: n,
      reqPerSec: med((p) => p.sample.reqPerSec),
      throughputRatio: med((p) => p.sample.reqPerSec / reference(p).reqPerSec),
      p50: med((p) => p.sample.p50),
      p99: med((p) => p.sample.p99),
      kithCpuPerRequest: med((p) => p.sample.serverCpuPerRequest),
      cpuRatio: med((p) => p.sample.serverCpuPerRequest / reference(p).serverCpuPerRequest),
      deliveriesPerSec: med((p) => p.deliveriesPerSec),
      backlog: med((p) => p.backlog),
      drainSeconds: med((p) => p.drainSeconds),
      receiverCpuPerDelivery: med((p) => p.receiverCpuPerDelivery),
      unexpected: mine.reduce((sum, p) => sum + p.sample.unexpected, 0),
    };
  });
}

function markdown(rows: Row[], notes: string[]): string {
  const lines = [
    `### Contact creation with webhook subscribers, ${engine}`,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    '| Subscribers | contacts/s | ÷ 0 subscribers | p50 ms | p99 ms | Kith CPU µs/req | CPU ÷ 0 | deliveries/s | backlog at end | drained in s |',
    '| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.subscribers}${r.unexpected ? ` ⚠ ${r.unexpected} unexpected` : ''} | ${Math.round(r.reqPerSec)} | ` +
        `${r.throughputRatio.toFixed(2)}× | ${r.p50} | ${r.p99} | ${Math.round(r.kithCpuPerRequest)} | ` +
        `${r.cpuRatio.toFixed(2)}× | ${Math.round(r.deliveriesPerSec)} | ${Math.round(r.backlog)} | ` +
        `${r.drainSeconds.toFixed(1)} |`,
    ),
    '',
    '| Goal | Measured | Met |',
    '| --- | --- | --- |',
    ...rows
      .filter((r) => r.subscribers > 0)
      .map(
        (r) =>
          `| ${r.subscribers} subscriber(s): ≥ 0.9× the throughput with none | ${r.throughputRatio.toFixed(2)}× | ` +
          `${r.throughputRatio >= 0.9 ? 'yes' : '**no**'} |`,
      ),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = `${startedAt.toISOString().replace(/[:.]/g, '-')}-webhooks-${engine}`;
  const logFile = path.join(resultsDir, `${stamp}.server.log`);
  database = await createBenchDatabase(engine, args['postgres-url']);

  const receiver = await startServer({ script: 'webhooks-receiver.ts', env: process.env, logFile });
  children.push(receiver);
  const receiverHost = new URL(receiver.ready.url).host;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_')));
  const kith = await startServer({
    script: 'webhooks-server.ts',
    env: {
      ...inherited,
      ...database.env,
      KITH_LOG_LEVEL: args['log-level'],
      KITH_NO_DEMO: '1',
      KITH_WEBHOOK_ALLOWED_HOSTS: receiverHost,
      BENCH_INSTANCES: counts.map(instanceOf).join(','),
    },
    logFile,
  });
  children.push(kith);
  const fixture = kith.ready.fixture!;
  const { token } = await call<{ token: string }>(`${kith.ready.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiClient: fixture.apiClient, secret: fixture.secret }),
    expect: 200,
  });
  for (const n of counts) {
    for (let k = 1; k <= n; k++) {
      await call(`${kith.ready.url}/bench/${instanceOf(n)}/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          url: `${receiver.ready.url}/${instanceOf(n)}/e${k}`,
          eventTypes: ['contact.created'],
        }),
        expect: 201,
      });
    }
  }
  progress(`${engine}: Kith at ${kith.ready.url}, receiver at ${receiver.ready.url}, log in ${logFile}`);

  const ledger = new Ledger(receiver.ready.url);
  const phases: Phase[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order so that drift on a shared machine (and the growing table) favours no phase.
    const order = round % 2 === 1 ? counts : [...counts].reverse();
    for (const n of order) phases.push(await measure(n, round, kith, receiver, ledger, token));
  }
  await cleanUp();

  const cpus = os.cpus();
  const loadAfter = os.loadavg();
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const notes = [
    `${startedAt.toISOString()}, ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
    `${duration} s per phase after ${warmup} s warm-up, ${connections} connections, ${rounds} round(s); ` +
      `medians over rounds, ratios taken within each round; the backlog is drained before every measurement`,
    'Kith, the receiver (200 at once, own process) and the load generator share the machine; ' +
      `KITH_LOG_LEVEL=${args['log-level']}, KITH_WEBHOOK_POLL_MS default`,
    `load average (1/5/15 min) before: ${load(loadBefore)}, after: ${load(loadAfter)}`,
  ];
  const rows = summarise(phases);
  const text = markdown(rows, notes);
  const jsonFile = path.join(resultsDir, `${stamp}.json`);
  const settings = { engine, counts, duration, warmup, connections, rounds, logLevel: args['log-level'] };
  fs.writeFileSync(
    jsonFile,
    `${JSON.stringify({ startedAt, settings, loadBefore, loadAfter, phases, rows }, null, 2)}\n`,
  );
  process.stdout.write(text);
  progress(`JSON written to ${jsonFile}`);
  if (rows.some((r) => r.unexpected > 0)) {
    progress('some responses had an unexpected status (see the table); the figures are suspect');
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  await cleanUp().catch(() => undefined);
  throw error;
}
