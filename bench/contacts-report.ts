// Measuring one contacts workload with autocannon (each request taken from the workload's rotation), and the
// markdown of a run: figures, ratios to the raw baseline measured in the same run, and the issue's targets.
import path from 'node:path';
import autocannon from 'autocannon';
import type { ServerChild } from './children.ts';
import { toSample, type Sample } from './report.ts';
import type { SeedManifest } from './seed.ts';
import type { BenchContext, BenchRequest, ContactWorkload } from './contacts-workloads.ts';

export interface Settings {
  duration: number;
  warmup: number;
  connections: number;
  /** Write a V8 CPU profile of each workload (Kith and raw) here; profiling slows the servers. */
  profileDir?: string;
}

export interface RunFacts {
  startedAt: string;
  commit: string;
  engine: 'sqlite' | 'postgres';
  machine: string;
  loadBefore: number[];
  loadAfter: number[];
  settings: Settings;
  manifest: Omit<SeedManifest, 'tenants'>;
  /** Tenants, and the contacts of the big one (the list and search workloads run there). */
  tenants: number;
  bigTenantContacts: number;
  seededNow: boolean;
}

// bench/autocannon.d.ts declares the part of autocannon's options bench/run.ts uses; the rotation needs
// `requests` with `setupRequest` too (autocannon README, "API").
interface RotatingOptions extends autocannon.Options {
  requests: Array<{ setupRequest: (request: BenchRequest) => BenchRequest }>;
}
const run = autocannon as unknown as (options: RotatingOptions) => Promise<autocannon.Result>;

/**
 * Waits until the server has worked off what the load generator left queued: a slow endpoint at 50 connections
 * keeps answering closed connections' requests long after autocannon stops, and that backlog must not be
 * measured as the next workload's (nor overlap its writes: two SQLite writers then fail with SQLITE_BUSY).
 * Idle means under 10% of a core, and no statement running in the database, for two polls in a row; gives up
 * after `maxSeconds`.
 */
async function drain(server: ServerChild, databaseBusy: () => Promise<boolean>, maxSeconds = 300) {
  const started = performance.now();
  let last = (await server.ask({ type: 'cpu' })).cpuMicros;
  let quiet = 0;
  while (quiet < 2 && performance.now() - started < maxSeconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = (await server.ask({ type: 'cpu' })).cpuMicros;
    // On PostgreSQL the backlog waits in the server's pool while the database works: both must be quiet.
    quiet = now - last < 25_000 && !(await databaseBusy()) ? quiet + 1 : 0;
    last = now;
  }
  return (performance.now() - started) / 1000;
}

/** A bench/report.ts sample plus how long the server went on working after the measurement ended. */
export interface ContactSample extends Sample {
  backlogSeconds: number;
}

export async function measure(
  w: ContactWorkload,
  server: ServerChild,
  context: BenchContext,
  settings: Settings,
  databaseBusy: () => Promise<boolean>,
): Promise<ContactSample> {
  const next = w.request(context);
  let k = 0;
  const options = (duration: number): RotatingOptions => ({
    url: server.ready.url,
    connections: settings.connections,
    duration,
    title: w.name,
    requests: [{ setupRequest: (request) => ({ ...request, ...next(k++) }) }],
  });
  if (settings.warmup > 0) {
    await run(options(settings.warmup));
    await drain(server, databaseBusy);
  }
  const { profileDir } = settings;
  const before = await server.ask({ type: profileDir ? 'profile-start' : 'cpu' });
  const clientBefore = process.cpuUsage();
  const result = await run(options(settings.duration));
  const client = process.cpuUsage(clientBefore);
  const after = await server.ask(
    profileDir
      ? { type: 'profile-stop', file: path.join(profileDir, `${w.name}.cpuprofile`) }
      : { type: 'cpu' },
  );
  const cpu = after.cpuMicros - before.cpuMicros;
  // The backlog's CPU is not in the figures: it is work for requests that got no answer in time.
  return { ...toSample(w, 1, result, cpu, client), backlogSeconds: await drain(server, databaseBusy) };
}

interface Target {
  engine: 'sqlite' | 'postgres';
  goal: string;
  check(get: (name: string) => Sample | undefined): { measured: string; met: boolean } | undefined;
}

const ratio = (a?: Sample, b?: Sample) => (a && b ? a.reqPerSec / b.reqPerSec : undefined);
const vsRaw = (name: string, min: number): Target['check'] => {
  return (get) => {
    const r = ratio(get(name), get(`raw-${name}`));
    return r === undefined ? undefined : { measured: `${r.toFixed(2)}× the raw req/s`, met: r >= min };
  };
};
// Requests that got no answer (timeouts, errors) have no latency in autocannon's histogram, so a workload with
// any is not met, whatever its p99 says.
const p99 = (names: string[], max: number): Target['check'] => {
  return (get) => {
    const found = names.map(get).filter((s): s is Sample => s !== undefined);
    if (found.length === 0) return undefined;
    // The raw baseline's p99 at the same load says how much of it is the SQL and the machine, not Kith.
    const text = (s: Sample) =>
      `${s.workload} ${s.p99} ms (raw ${get(`raw-${s.workload}`)?.p99 ?? '–'} ms)` +
      (s.unexpected ? ` (${s.unexpected} requests unanswered or failed)` : '');
    return {
      measured: found.map(text).join(', '),
      met: found.every((s) => s.unexpected === 0 && s.reqPerSec > 0 && s.p99 <= max),
    };
  };
};
const PAGES = ['page-tag', 'page-company'];
const SEARCHES = ['search-prefix', 'search-typo', 'search-phone'];

/** The issue's targets (PostgreSQL ones at 50 connections). */
const TARGETS: Target[] = [
  { engine: 'postgres', goal: 'get ≥ 0.8× the raw get', check: vsRaw('get', 0.8) },
  {
    engine: 'postgres',
    goal: 'create ≥ 0.6× the raw insert',
    check: vsRaw('create', 0.6),
  },
  { engine: 'postgres', goal: 'page of 50: p99 ≤ 20 ms', check: p99(PAGES, 20) },
  { engine: 'postgres', goal: 'search: p99 ≤ 25 ms', check: p99(SEARCHES, 25) },
  {
    engine: 'sqlite',
    goal: 'get ≥ 15,000 req/s',
    check: (get) => {
      const s = get('get');
      return s && { measured: `${Math.round(s.reqPerSec)} req/s`, met: s.reqPerSec >= 15_000 };
    },
  },
];

const table = (head: string[], rows: Array<Array<string | number>>) =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '--:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');

export function renderRun(facts: RunFacts, workloads: ContactWorkload[], samples: ContactSample[]): string {
  const get = (name: string) => samples.find((s) => s.workload === name);
  const m = facts.manifest;
  const t = m.timings;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const notes = [
    `${facts.startedAt}, commit ${facts.commit}, ${facts.machine}`,
    `${m.contacts} contacts over ${facts.tenants} tenants (${facts.bigTenantContacts} in the big one), seed ${m.seed}; ` +
      `seeded ${facts.seededNow ? 'for this run' : 'before'} in ` +
      `${m.seedSeconds.toFixed(1)} s (insert ${t.insert.toFixed(1)} s, indexes ${t.indexes.toFixed(1)} s, ` +
      `analyze ${t.analyze.toFixed(1)} s; ${Math.round(m.contacts / m.seedSeconds)} contacts/s)`,
    `${facts.settings.duration} s per workload after ${facts.settings.warmup} s warm-up, ` +
      `${facts.settings.connections} connections, each as fast as the server answers, one round; KITH_LOG_LEVEL=warn`,
    `load average (1/5/15 min) before: ${load(facts.loadBefore)}, after: ${load(facts.loadAfter)}`,
  ];
  const rows = workloads.flatMap((w) => {
    const s = get(w.name);
    if (!s) return [];
    const base = w.baseline ? get(w.baseline) : undefined;
    return [
      [
        `\`${w.name}\`${s.unexpected ? ` ⚠ ${s.unexpected} unexpected` : ''}`,
        Math.round(s.reqPerSec),
        s.p50,
        s.p99,
        s.latencyMean.toFixed(2),
        base ? `${(s.reqPerSec / base.reqPerSec).toFixed(2)}×` : '–',
        Math.round(s.serverCpuPerRequest),
        base ? `${(s.serverCpuPerRequest / base.serverCpuPerRequest).toFixed(2)}×` : '–',
        `${Math.round(s.serverBusy * 100)}%`,
        `${Math.round(s.clientBusy * 100)}%`,
        s.backlogSeconds >= 1 ? `${s.backlogSeconds.toFixed(0)} s` : '–',
      ],
    ];
  });
  const goals = TARGETS.filter((g) => g.engine === facts.engine).flatMap((g) => {
    const r = g.check(get);
    return r ? [[g.goal, r.measured, r.met ? 'yes' : '**no**']] : [];
  });
  return [
    `### Contacts on ${facts.engine}, ${m.contacts} contacts, ${facts.settings.connections} connections`,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    table(
      [
        'Workload',
        'req/s',
        'p50 ms',
        'p99 ms',
        'mean ms',
        'req/s ÷ raw',
        'server CPU µs/req',
        'CPU ÷ raw',
      ].concat(['server busy', 'load generator busy', 'backlog after']),
      rows,
    ),
    table(['Target', 'Measured', 'Met'], goals),
    ...workloads.map((w) => `- \`${w.name}\`: ${w.summary}`),
    '',
  ].join('\n');
}
