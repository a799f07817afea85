// The SQL behind each list and search workload, and its plan. Each variant's request runs once through Kith's own
// ContactsService on a Kysely with query logging, so what is captured is exactly what Kith sends (the raw
// baseline replays it). Then each shape's first variant is explained: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL,
// EXPLAIN QUERY PLAN on SQLite, and every scan is checked for an index behind it.
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import type { Database } from '../src/db/database.ts';
import type { DB } from '../src/db/schema.ts';
import { CompaniesService } from '../src/modules/companies/companies.service.ts';
import { toListFilter } from '../src/modules/contacts/contacts.query.ts';
import type { ListQuery } from '../src/modules/contacts/contacts.schemas.ts';
import { ContactsService } from '../src/modules/contacts/contacts.service.ts';
import { systemClock } from '../src/platform/clock.ts';
import type { InstanceScope } from '../src/platform/http/context.ts';
import { Writes } from '../src/platform/writes.ts';
import type { CapturedQuery } from './contacts-spec.ts';

export interface Target {
  engine: 'sqlite' | 'postgres';
  dataDir?: string;
  databaseUrl?: string;
}

export interface ShapePlan {
  shape: string;
  query: string;
  statements: Array<{
    sql: string;
    parameters: unknown[];
    plan: string;
    problems: string[];
    /** Median wall time of five runs on an idle connection, in ms. */
    ms: number;
  }>;
}

/** A Database like src/db/database.ts opens, but whose Kysely reports every statement it runs to `log`. */
function loggingDatabase(target: Target, log: (q: CapturedQuery) => void): Database {
  const onEvent = (event: LogEvent) => {
    if (event.level === 'query') log({ sql: event.query.sql, parameters: [...event.query.parameters] });
  };
  const dialect = target.databaseUrl
    ? new PostgresDialect({
        pool: new pg.Pool({
          connectionString: target.databaseUrl,
          max: 4,
          options: '-c max_parallel_workers_per_gather=0',
        }),
      })
    : new SqliteDialect({ database: new SQLite(path.join(target.dataDir!, 'kith.db')) });
  const db = new Kysely<DB>({ dialect, log: onEvent });
  return {
    db,
    engine: target.engine,
    location: target.databaseUrl ?? target.dataDir!,
    bool: (value) => (target.engine === 'sqlite' ? (value ? 1 : 0) : value),
    close: () => db.destroy(),
  };
}

/** The route's query string as the route hands it to toListFilter and the service (tags repeat). */
function listQuery(queryString: string): ListQuery {
  const query: Record<string, unknown> & { tag?: string[] } = {};
  for (const [key, value] of new URLSearchParams(queryString)) {
    if (key === 'tag') (query.tag ??= []).push(value);
    else query[key] = key === 'limit' ? Number(value) : value;
  }
  return query;
}

/** The page query first, then the count, then whatever ran after them (both are awaited together). */
function inOrder(queries: CapturedQuery[]): CapturedQuery[] {
  const rank = (q: CapturedQuery) =>
    q.sql.includes('"contacts"."doc"') ? 0 : q.sql.includes('count(') ? 1 : 2;
  return queries
    .map((q, i) => ({ q, i }))
    .sort((a, b) => rank(a.q) - rank(b.q) || a.i - b.i)
    .map((x) => x.q);
}

export async function captureLists(
  target: Target,
  instanceId: string,
  lists: Record<string, string[]>,
): Promise<Record<string, CapturedQuery[][]>> {
  let captured: CapturedQuery[] = [];
  const database = loggingDatabase(target, (q) => captured.push(q));
  try {
    const writes = new Writes(database, systemClock);
    const companies = new CompaniesService({ database, writes, clock: systemClock });
    const contacts = new ContactsService({ database, writes, clock: systemClock, companies });
    const scope: InstanceScope = {
      tenantId: '',
      tenant: '',
      instanceId,
      instance: 'live',
      phoneRegion: 'US',
    };
    const result: Record<string, CapturedQuery[][]> = {};
    for (const [shape, variants] of Object.entries(lists)) {
      result[shape] = [];
      for (const variant of variants) {
        captured = [];
        const query = listQuery(variant);
        await contacts.list(scope, toListFilter(query, scope.phoneRegion), query);
        result[shape].push(inOrder(captured));
      }
    }
    return result;
  } finally {
    await database.close();
  }
}

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * What keeps a statement from being answered by an index: scans of a whole table, sorts the index order does
 * not give (SQLite says so; on PostgreSQL a Sort node of few rows is harmless and not listed), and index scans
 * that read thousands of rows only to filter them out (the index gave the order, not the matches).
 */
function problemsOf(engine: Target['engine'], plan: string): string[] {
  const lines = plan.split('\n');
  const found =
    engine === 'postgres'
      ? lines.filter((l) => /Seq Scan on (contacts|contact_tags)\b|Rows Removed by Filter: \d{4,}/.test(l))
      : lines.filter((l) => /SCAN (contacts|contact_tags)\b(?! USING)|USE TEMP B-TREE/.test(l));
  return found.map((l) =>
    l
      .trim()
      .replace(/^->\s*/, '')
      .replace(/\s+\(cost=.*$/, ''),
  );
}

/** One engine's way to run a captured statement and to explain it. */
interface Explainer {
  run(q: CapturedQuery): Promise<unknown>;
  explain(q: CapturedQuery): Promise<string>;
  close(): Promise<void>;
}

async function postgresExplainer(url: string): Promise<Explainer> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    run: (q) => client.query(q.sql, q.parameters),
    async explain(q) {
      // Kith's own estimate step is an EXPLAIN already; it is listed, not explained again.
      if (q.sql.startsWith('explain')) return '(the planner estimate of the count; no rows read)';
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers) ${q.sql}`,
        q.parameters,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    },
    close: () => client.end(),
  };
}

function sqliteExplainer(dataDir: string): Explainer {
  const db = new SQLite(path.join(dataDir, 'kith.db'), { readonly: true });
  return {
    run: async (q) => db.prepare(q.sql).all(q.parameters),
    async explain(q) {
      const rows = db.prepare(`explain query plan ${q.sql}`).all(q.parameters) as Array<{
        id: number;
        parent: number;
        detail: string;
      }>;
      // Indent each step under its parent, as the sqlite3 shell prints the plan tree.
      const depth = new Map<number, number>([[0, 0]]);
      return rows
        .map((r) => {
          const d = (depth.get(r.parent) ?? 0) + 1;
          depth.set(r.id, d);
          return `${'  '.repeat(d - 1)}${r.detail}`;
        })
        .join('\n');
    },
    close: async () => {
      db.close();
    },
  };
}

async function timed(ex: Explainer, q: CapturedQuery, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await ex.run(q);
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Per shape, the plans of its first variant and of its slowest one (every variant's statements are run once
 * to find it), each statement with its median time over five runs.
 */
export async function explainShapes(
  target: Target,
  lists: Record<string, string[]>,
  captured: Record<string, CapturedQuery[][]>,
): Promise<ShapePlan[]> {
  const ex = target.databaseUrl
    ? await postgresExplainer(target.databaseUrl)
    : sqliteExplainer(target.dataDir!);
  try {
    const plans: ShapePlan[] = [];
    for (const [shape, variants] of Object.entries(captured)) {
      let slowest = 0;
      let worst = -1;
      for (const [i, queries] of variants.entries()) {
        let total = 0;
        for (const q of queries) total += await timed(ex, q, 1);
        if (total > worst) [slowest, worst] = [i, total];
      }
      for (const i of new Set([0, slowest])) {
        const statements: ShapePlan['statements'] = [];
        for (const q of variants[i]!) {
          const plan = await ex.explain(q);
          statements.push({
            ...q,
            plan,
            problems: problemsOf(target.engine, plan),
            ms: await timed(ex, q, RUNS),
          });
        }
        plans.push({ shape, query: lists[shape]![i]!, statements });
      }
    }
    return plans;
  } finally {
    await ex.close();
  }
}

/** The plans as markdown: per shape, each statement's SQL (parameters inlined for reading) and plan. */
export function plansMarkdown(plans: ShapePlan[]): string {
  const inline = (s: CapturedQuery) =>
    s.sql.replace(/\$(\d+)|\?/g, (m, n: string | undefined) => {
      const v = n ? s.parameters[Number(n) - 1] : s.parameters[inlineIndex++];
      return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
    });
  let inlineIndex = 0;
  const out: string[] = [];
  for (const p of plans) {
    const readable = [...new URLSearchParams(p.query)].map(([k, v]) => `${k}=${v}`).join('&');
    out.push(`#### \`${p.shape}\`: \`?${readable}\``, '');
    for (const s of p.statements) {
      inlineIndex = 0;
      const verdict = s.problems.length ? `**not index-backed**: ${s.problems.join('; ')}` : 'index-backed';
      out.push('```sql', inline(s), '```', '```', s.plan, '```', `→ ${verdict}; ${s.ms.toFixed(1)} ms`, '');
    }
  }
  return out.join('\n');
}
