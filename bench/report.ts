// Turns autocannon results into the figures reported: per workload the median over rounds of each figure and of
// its ratios to the raw baseline and to the reference measured in the same round (the machine is shared, so
// absolute numbers drift and only ratios between neighbouring measurements are comparable), the goals checked,
// and markdown tables.
import type autocannon from 'autocannon';
import type { Workload } from './workloads.ts';

export interface Sample {
  workload: string;
  round: number;
  reqPerSec: number;
  /** Latencies in ms (autocannon records whole milliseconds, so p50/p99 are coarse at low latency). */
  latencyMean: number;
  p50: number;
  p99: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Responses whose status was not the expected one, plus socket errors and timeouts. */
  unexpected: number;
  /** CPU time (user + system) the server process spent per completed request, in µs. */
  serverCpuPerRequest: number;
  /** The server's CPU time over the wall time: near 1 means the server, not the load generator, was the limit. */
  serverBusy: number;
  /** The same for the load generator (this process): near 1 means it, not the server, was the limit. */
  clientBusy: number;
}

/** Everything a run measured, as saved in bench/results/*.json (which also holds the derived rows and goals). */
export interface RunRecord {
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    loadBefore: number[];
    loadAfter: number[];
  };
  settings: {
    engine: string;
    duration: number;
    warmup: number;
    connections: number;
    rounds: number;
    logLevel: string;
  };
  samples: Sample[];
}

export interface Row {
  workload: string;
  summary: string;
  expectedStatus: number;
  reqPerSec: number;
  latencyMean: number;
  p50: number;
  p99: number;
  serverCpuPerRequest: number;
  serverBusy: number;
  clientBusy: number;
  /** req/s divided by that of the raw baseline, the public variant and the authenticated success (if relevant). */
  throughputRatios: Ratios;
  /** Mean latency divided likewise (above 1: slower). */
  latencyRatios: Ratios;
  /** The server's CPU µs per request divided likewise (above 1: costs more). */
  cpuRatios: Ratios;
  unexpected: number;
}

export interface Ratios {
  raw?: number;
  public?: number;
  auth?: number;
}

export interface Goal {
  goal: string;
  measured: string;
  /** Judged by req/s at saturation (cost per request = 1 / req/s), as the issue states the goals. */
  metByThroughput: boolean;
  /** Judged by the server's CPU time per request, which a busy load generator or machine disturbs less. */
  metByCpu: boolean;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type Field = 'reqPerSec' | 'latencyMean' | 'serverCpuPerRequest';
const RATIOS = {
  reqPerSec: 'throughputRatios',
  latencyMean: 'latencyRatios',
  serverCpuPerRequest: 'cpuRatios',
} as const;

/** What each workload is divided by: its raw baseline, and the public variant / authenticated success if relevant. */
function references(w: Workload): Record<keyof Ratios, string | undefined> {
  return {
    raw: w.baseline,
    // The cheap-route family (public, auth, rejections) share the public variant as a reference.
    public: w.baseline === 'raw-get' && w.name !== 'public' ? 'public' : undefined,
    auth: w.reference === 'auth' ? 'auth' : undefined,
  };
}

/** Ratios within one round: each sample divided by its references' samples of the same round. */
function roundRatios(w: Workload, sample: Sample, round: Sample[], field: Field): Ratios {
  const ratios: Ratios = {};
  for (const [key, name] of Object.entries(references(w)) as [keyof Ratios, string | undefined][]) {
    const other = round.find((s) => s.workload === name)?.[field];
    if (other) ratios[key] = sample[field] / other;
  }
  return ratios;
}

export function summarise(workloads: Workload[], samples: Sample[]): Row[] {
  return workloads.flatMap((w): Row[] => {
    const mine = samples.filter((s) => s.workload === w.name);
    if (mine.length === 0) return [];
    const med = (f: (s: Sample) => number) => median(mine.map(f));
    const ratios = (field: Field): Ratios => {
      const perRound = mine.map((s) =>
        roundRatios(
          w,
          s,
          samples.filter((x) => x.round === s.round),
          field,
        ),
      );
      const keys = ['raw', 'public', 'auth'] as const;
      const present = (k: keyof Ratios) => perRound.map((r) => r[k]).filter((x) => x !== undefined);
      return Object.fromEntries(keys.filter((k) => present(k).length).map((k) => [k, median(present(k))]));
    };
    const row: Row = {
      workload: w.name,
      summary: w.summary,
      expectedStatus: w.expectedStatus,
      reqPerSec: med((s) => s.reqPerSec),
      latencyMean: med((s) => s.latencyMean),
      p50: med((s) => s.p50),
      p99: med((s) => s.p99),
      serverCpuPerRequest: med((s) => s.serverCpuPerRequest),
      serverBusy: med((s) => s.serverBusy),
      clientBusy: med((s) => s.clientBusy),
      throughputRatios: {},
      latencyRatios: {},
      cpuRatios: {},
      unexpected: mine.reduce((n, s) => n + s.unexpected, 0),
    };
    for (const field of Object.keys(RATIOS) as Field[]) row[RATIOS[field]] = ratios(field);
    return [row];
  });
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** The issue's goals, judged both by throughput and by the server's CPU time per request. */
export function checkGoals(rows: Row[]): Goal[] {
  const goals: Goal[] = [];
  const auth = rows.find((r) => r.workload === 'auth');
  const vsPublic = auth?.throughputRatios.public;
  if (auth && vsPublic !== undefined) {
    // "Adds X%": extra time per request, i.e. public req/s ÷ auth req/s − 1 (stricter than the drop in req/s).
    const added = 1 / vsPublic - 1;
    const addedCpu = (auth.cpuRatios.public ?? NaN) - 1;
    goals.push({
      goal: 'Authentication adds ≤ 15% to a cheap route',
      measured:
        `${pct(added)} time per request (req/s ${pct(vsPublic - 1)}), ` +
        `mean latency ${pct((auth.latencyRatios.public ?? NaN) - 1)}, server CPU/req ${pct(addedCpu)}`,
      metByThroughput: added <= 0.15,
      metByCpu: addedCpu <= 0.15,
    });
  }
  for (const reject of rows.filter((r) => r.workload.startsWith('reject-'))) {
    const vsAuth = reject.throughputRatios.auth;
    if (vsAuth === undefined) continue;
    const cpu = reject.cpuRatios.auth ?? NaN;
    goals.push({
      goal: `A rejection (${reject.workload}) costs less than a success`,
      measured:
        `${(1 / vsAuth).toFixed(2)}× the time per request of an authenticated success, ` +
        `${cpu.toFixed(2)}× its server CPU`,
      metByThroughput: 1 / vsAuth < 1,
      metByCpu: cpu < 1,
    });
  }
  return goals;
}

const ratio = (x: number | undefined) => (x === undefined ? '–' : `${x.toFixed(2)}×`);
const ms = (x: number) => x.toFixed(2);

const yes = (met: boolean) => (met ? 'yes' : '**no**');

function markdown(title: string, notes: string[], rows: Row[], goals: Goal[]): string {
  // Figures right-aligned; `textColumns` leading columns left-aligned.
  const table = (head: string[], body: (string | number)[][], textColumns = 1) => [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i < textColumns ? '---' : '--:')).join(' | ')} |`,
    ...body.map((cells) => `| ${cells.join(' | ')} |`),
    '',
  ];
  const name = (r: Row) => `\`${r.workload}\`${r.unexpected ? ` ⚠ ${r.unexpected} unexpected` : ''}`;
  return [
    `### ${title}`,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    ...table(
      ['Workload', 'Status', 'req/s', 'mean ms', 'p50 ms', 'p99 ms', 'req/s ÷ raw', '÷ public', '÷ auth'],
      rows.map((r) => {
        const q = r.throughputRatios;
        return [
          name(r),
          r.expectedStatus,
          Math.round(r.reqPerSec),
          ms(r.latencyMean),
          ms(r.p50),
          ms(r.p99),
        ].concat([ratio(q.raw), ratio(q.public), ratio(q.auth)]);
      }),
    ),
    ...table(
      [
        'Workload',
        'server CPU µs/req',
        'CPU ÷ raw',
        '÷ public',
        '÷ auth',
        'server busy',
        'load generator busy',
      ],
      rows.map((r) => {
        const c = r.cpuRatios;
        return [
          name(r),
          Math.round(r.serverCpuPerRequest),
          ratio(c.raw),
          ratio(c.public),
          ratio(c.auth),
        ].concat([`${Math.round(r.serverBusy * 100)}%`, `${Math.round(r.clientBusy * 100)}%`]);
      }),
    ),
    ...table(
      ['Goal', 'Measured', 'Met (req/s)', 'Met (CPU)'],
      goals.map((g) => [g.goal, g.measured, yes(g.metByThroughput), yes(g.metByCpu)]),
      4,
    ),
  ].join('\n');
}

/** The rows, goals and markdown of a run. */
export function render(run: RunRecord, workloads: Workload[]): { text: string; rows: Row[]; goals: Goal[] } {
  const { machine: m, settings: s } = run;
  const rows = summarise(workloads, run.samples);
  const goals = checkGoals(rows);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const notes = [
    `${run.startedAt}, ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}`,
    `${s.duration} s per workload after ${s.warmup} s warm-up, ${s.connections} connections, ${s.rounds} ` +
      `round(s); figures and ratios are medians over rounds, ratios taken within each round`,
    `KITH_LOG_LEVEL=${s.logLevel}, KITH_TOKEN_REQUESTS_PER_CLIENT=1000000, KITH_NO_DEMO=1`,
    `load average (1/5/15 min) before: ${load(m.loadBefore)}, after: ${load(m.loadAfter)}`,
  ];
  return { text: `${markdown(`Kith on ${s.engine}`, notes, rows, goals)}\n`, rows, goals };
}

/** One measurement as a Sample: autocannon's result, the server's CPU time and this process's CPU usage. */
export function toSample(
  w: { name: string; expectedStatus: number },
  round: number,
  result: autocannon.Result,
  cpu: number,
  client: NodeJS.CpuUsage,
): Sample {
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  const wrong = Object.entries(statusCodes)
    .filter(([code]) => Number(code) !== w.expectedStatus)
    .reduce((n, [, count]) => n + count, 0);
  return {
    workload: w.name,
    round,
    reqPerSec: result.requests.average,
    latencyMean: result.latency.mean,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    unexpected: wrong + result.errors + result.timeouts,
    serverCpuPerRequest: result.requests.total ? cpu / result.requests.total : 0,
    serverBusy: cpu / (result.duration * 1e6),
    clientBusy: (client.user + client.system) / (result.duration * 1e6),
  };
}
