// `npm run bench:events -- [--engine sqlite|postgres] [--subscribers 1000] [--rate 20] [--duration 10]`: event
// latency from commit to WebSocket client. Kith runs as a child process (bench/kith-server.ts, as `kith serve`);
// this process opens the streams, creates contacts at a steady rate and times each event's arrival on every
// stream. The same run first measures a baseline of 1 subscriber, so the figure that matters is the ratio.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startServer, type ServerChild } from './children.ts';
import { createBenchDatabase, DEFAULT_POSTGRES_URL, type Engine } from './engines.ts';

const USAGE = `Usage: npm run bench:events -- [options]
  --engine sqlite|postgres   storage engine (default sqlite)
  --subscribers N            streams in the measured phase (default 1000; the baseline phase has 1)
  --rate N                   contacts created per second (default 20)
  --duration SECONDS         measured time per phase (default 10)
  --warmup SECONDS           unmeasured writes before each phase (default 2)
  --postgres-url URL         server to create the throwaway database on (default ${DEFAULT_POSTGRES_URL})`;

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    subscribers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'postgres-url': { type: 'string', default: DEFAULT_POSTGRES_URL },
    help: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a whole number ≥ 1\n\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.engine !== 'sqlite' && args.engine !== 'postgres')
  throw new Error('--engine must be sqlite or postgres');
const engine: Engine = args.engine;
const subscribers = positive('subscribers', args.subscribers);
const rate = positive('rate', args.rate);
const durationS = positive('duration', args.duration);
const warmupS = Number(args.warmup);

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Fixture {
  base: string;
  /** `/{tenant}/{instance}` */
  root: string;
  token: string;
}

interface Phase {
  subscribers: number;
  writes: number;
  deliveries: number;
  expected: number;
  /** From the event's occurredAt (taken as its transaction starts) to its arrival on a stream, in ms. */
  fromCommit: { p50: number; p99: number; max: number };
  /** From sending the POST that made the event to its arrival on a stream, in ms. */
  fromRequest: { p50: number; p99: number; max: number };
  serverCpuPercent: number;
  /** This process (the streams' client and the writer): near 100 % would mean the figures measure it, not Kith. */
  clientCpuPercent: number;
}

function quantiles(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

const EVENT_PREFIX = Buffer.from('{"type":"event"');
const OCCURRED_AT = Buffer.from('"occurredAt":"');
const RESOURCE_ID = Buffer.from('"resourceId":"');
const ISO_LENGTH = '2026-01-01T00:00:00.000Z'.length;

/**
 * Only two fields of each event are needed, read straight from the frame's bytes: with 1,000 streams this process
 * handles tens of thousands of messages a second, and must keep up for the arrival times to mean anything.
 */
function fieldsOf(data: Buffer): { id: string; occurredAt: number } {
  const at = data.indexOf(OCCURRED_AT) + OCCURRED_AT.length;
  const idAt = data.indexOf(RESOURCE_ID) + RESOURCE_ID.length;
  return {
    id: data.toString('latin1', idAt, data.indexOf(0x22, idAt)),
    occurredAt: Date.parse(data.toString('latin1', at, at + ISO_LENGTH)),
  };
}

/** Opens `count` streams, each subscribed to contact.created; every event's arrival is handed to `onEvent`. */
async function openStreams(fixture: Fixture, count: number, onEvent: (data: Buffer, at: number) => void) {
  const sockets: WebSocket[] = [];
  const url = `${fixture.base.replace(/^http/, 'ws')}${fixture.root}/events/ws`;
  for (let start = 0; start < count; start += 100) {
    const batch = Array.from({ length: Math.min(100, count - start) }, () => {
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${fixture.token}` },
        skipUTF8Validation: true,
      });
      sockets.push(ws);
      return new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          const buffer = data as Buffer;
          if (buffer.subarray(0, EVENT_PREFIX.length).equals(EVENT_PREFIX))
            return onEvent(buffer, Date.now());
          const text = buffer.toString();
          if (text.startsWith('{"type":"subscribed"')) resolve();
          else if (text.startsWith('{"type":"ready"'))
            ws.send(JSON.stringify({ type: 'subscribe', id: 's', types: ['contact.created'] }));
        });
      });
    });
    await Promise.all(batch);
  }
  return sockets;
}

/** Creates contacts at a steady rate for `seconds`; returns when each request was sent, by contact id. */
async function writeSteadily(fixture: Fixture, seconds: number): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  const total = Math.round(seconds * rate);
  const interval = 1000 / rate;
  const start = Date.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const sent = Date.now();
    inFlight.push(
      fetch(`${fixture.base}${fixture.root}/contacts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ firstName: 'Bench', lastName: `Latency${i}` }),
      })
        .then((res) => res.json() as Promise<{ id: string }>)
        .then((body) => void sentAt.set(body.id, sent)),
    );
  }
  await Promise.all(inFlight);
  return sentAt;
}

async function measure(server: ServerChild, fixture: Fixture, count: number): Promise<Phase> {
  let recording = false;
  const arrivals: Array<{ id: string; occurredAt: number; at: number }> = [];
  const sockets = await openStreams(fixture, count, (data, at) => {
    if (recording) arrivals.push({ ...fieldsOf(data), at });
  });
  log(`  ${count} stream(s) open; warming up`);
  if (warmupS > 0) await writeSteadily(fixture, warmupS);
  await sleep(500);
  recording = true;
  const cpuBefore = (await server.ask({ type: 'cpu' })).cpuMicros;
  const ownBefore = process.cpuUsage();
  const started = Date.now();
  const sentAt = await writeSteadily(fixture, durationS);
  await sleep(1000);
  const elapsed = Date.now() - started;
  const cpuAfter = (await server.ask({ type: 'cpu' })).cpuMicros;
  const own = process.cpuUsage(ownBefore);
  recording = false;
  for (const ws of sockets) ws.terminate();
  const measured = arrivals.filter((a) => sentAt.has(a.id));
  return {
    subscribers: count,
    writes: sentAt.size,
    deliveries: measured.length,
    expected: sentAt.size * count,
    fromCommit: quantiles(measured.map((a) => a.at - a.occurredAt)),
    fromRequest: quantiles(measured.map((a) => a.at - sentAt.get(a.id)!)),
    serverCpuPercent: ((cpuAfter - cpuBefore) / 1000 / elapsed) * 100,
    clientCpuPercent: ((own.user + own.system) / 1000 / elapsed) * 100,
  };
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
fs.mkdirSync(resultsDir, { recursive: true });
const database = await createBenchDatabase(engine, args['postgres-url']);
let server: ServerChild | undefined;
try {
  server = await startServer({
    script: 'kith-server.ts',
    logFile: path.join(resultsDir, `${stamp}-events-ws.server.log`),
    // This process's environment minus any KITH_* setting of the caller, plus the bench's (as bench/run.ts).
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KITH_'))),
      ...database.env,
      KITH_LOG_LEVEL: 'warn',
      KITH_NO_DEMO: '1',
      KITH_WS_CONNECTIONS_PER_CLIENT: String(subscribers + 10),
    },
  });
  const { url, fixture } = server.ready;
  if (!fixture) throw new Error('the Kith child sent no fixture');
  const tokenRes = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiClient: fixture.apiClient, secret: fixture.secret }),
  });
  const { token } = (await tokenRes.json()) as { token: string };
  const target: Fixture = { base: url, root: `/${fixture.tenant}/${fixture.instance}`, token };

  log(`events-ws on ${engine}: ${rate} contacts/s for ${durationS} s per phase`);
  log('phase 1: baseline, 1 subscriber');
  const baseline = await measure(server, target, 1);
  log(`phase 2: ${subscribers} subscribers`);
  const loaded = await measure(server, target, subscribers);

  const row = (name: string, p: Phase) =>
    `| ${name} | ${p.subscribers} | ${p.writes} | ${p.deliveries}/${p.expected} | ` +
    `${p.fromCommit.p50} | ${p.fromCommit.p99} | ${p.fromCommit.max} | ${p.fromRequest.p50} | ` +
    `${p.fromRequest.p99} | ${p.serverCpuPercent.toFixed(0)} % | ${p.clientCpuPercent.toFixed(0)} % |`;
  const lines = [
    `Event latency, ${engine}, ${rate} contacts/s, ${durationS} s, ${os.cpus().length} cores (ms)`,
    '',
    '| phase | subscribers | writes | deliveries | commit→client p50 | p99 | max | request→client p50 | p99 | ' +
      'server CPU | client CPU |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row('baseline', baseline),
    row('measured', loaded),
    '',
    `p99 commit→client: ${loaded.fromCommit.p99} ms with ${subscribers} subscribers vs ` +
      `${baseline.fromCommit.p99} ms with 1 (×${(loaded.fromCommit.p99 / Math.max(1, baseline.fromCommit.p99)).toFixed(1)})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const file = path.join(resultsDir, `${stamp}-events-ws-${engine}.json`);
  fs.writeFileSync(file, JSON.stringify({ engine, rate, durationS, subscribers, baseline, loaded }, null, 2));
  log(`saved ${file}`);
} finally {
  await server?.stop();
  await database.drop();
}
