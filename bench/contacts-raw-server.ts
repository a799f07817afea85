// The raw baseline of the contacts workloads, a child process like Kith: bare node:http plus the driver (pg or
// better-sqlite3) doing the database work of each workload with hand-written SQL and a JSON reply: get = the
// same single-row select; create = the same row, tags and search terms, inserted in one transaction (one
// statement on PostgreSQL); patch = one field of one row changed in one statement; list and search = the very
// SQL Kith ran for the same request (captured by contacts-plans.ts), with the same concurrency.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { answerParent, kithLikeHeaders, type ReadyMessage } from './shared.ts';
import { createRows, type RawSpec } from './contacts-spec.ts';
import { ftsText } from '../src/db/search.ts';

const spec = JSON.parse(fs.readFileSync(process.env.BENCH_RAW_SPEC!, 'utf8')) as RawSpec;

const COLUMNS =
  'id, patient_id, company_id, relationship, is_primary, source, external_id, sort_name, sort_last, ' +
  'sort_company, doc, created_at, updated_at, deleted_at, version';
const GET = `select ${COLUMNS} from contacts where instance_id = $1 and id = $2 and deleted_at is null`;
const PATCH_PG =
  `update contacts set doc = jsonb_set(doc, '{avatarUrl}', to_jsonb($3::text)), updated_at = $4, ` +
  `version = version + 1 where instance_id = $1 and id = $2 and deleted_at is null returning ${COLUMNS}`;
const PATCH_SQLITE =
  `update contacts set doc = json_set(doc, '$.avatarUrl', ?), updated_at = ?, version = version + 1 ` +
  `where instance_id = ? and id = ? and deleted_at is null returning ${COLUMNS}`;
const INSERT_COLUMNS =
  'id, instance_id, is_primary, source, external_id, sort_name, sort_last, sort_company, doc, created_at, ' +
  'updated_at, deleted_at, version';
// Contact, tags and search vector in one statement: a single round trip, the least a write can cost.
const CREATE_PG =
  `with c as (insert into contacts (${INSERT_COLUMNS}, search) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, ` +
  `$10, $10, null, 1, array_to_tsvector($11::text[])) returning id) ` +
  `insert into contact_tags (contact_id, instance_id, tag) select c.id, $2, t from c, unnest($12::text[]) t`;

type Row = Record<string, unknown> & { doc: unknown };

/** The API's contact shape, near enough: the document's fields plus the row's own. */
function contactBody(row: Row): string {
  const doc = (typeof row.doc === 'string' ? JSON.parse(row.doc) : row.doc) as Record<string, unknown>;
  return JSON.stringify({
    id: row.id,
    patientId: row.patient_id ?? null,
    companyId: row.company_id ?? null,
    ...doc,
    isPrimary: row.is_primary === true || row.is_primary === 1,
    source: row.source ?? null,
    externalId: row.external_id ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at ?? null,
    version: row.version,
  });
}

interface Store {
  get(id: string): Promise<Row | undefined>;
  patch(id: string, avatarUrl: string): Promise<Row | undefined>;
  create(body: string): Promise<Row>;
  list(shape: string, variant: number): Promise<Row[]>;
  close(): Promise<void>;
}

const rows = createRows(spec);
const now = () => new Date().toISOString();
const variantOf = (shape: string, variant: number) => {
  const variants = spec.lists[shape];
  if (!variants) throw new Error(`no such list shape ${shape}`);
  return variants[variant % variants.length]!;
};

function postgresStore(url: string): Store {
  // The connection settings of src/db/database.ts.
  const pool = new pg.Pool({
    connectionString: url,
    max: spec.poolSize,
    options: '-c max_parallel_workers_per_gather=0',
  });
  pool.on('error', () => undefined);
  const one = async (text: string, values: unknown[]) => (await pool.query(text, values)).rows[0] as Row;
  return {
    get: (id) => one(GET, [spec.readInstanceId, id]),
    patch: (id, avatarUrl) => one(PATCH_PG, [spec.readInstanceId, id, avatarUrl, now()]),
    async create(body) {
      const r = rows.get(body)!;
      const id = randomUUID();
      const at = now();
      const v = r.values;
      await pool.query(CREATE_PG, [
        id,
        spec.createInstanceId,
        v.is_primary,
        v.source,
        v.external_id,
        v.sort_name,
        v.sort_last,
        v.sort_company,
        v.doc,
        at,
        r.terms,
        r.tags,
      ]);
      return { ...v, id, created_at: at, updated_at: at, version: 1 };
    },
    async list(shape, variant) {
      // As the service does: the page and the count together, anything else (an estimate) after.
      const [page, count, ...rest] = variantOf(shape, variant);
      const [result] = await Promise.all([page!, count!].map((q) => pool.query(q.sql, q.parameters)));
      for (const q of rest) await pool.query(q.sql, q.parameters);
      return result!.rows as Row[];
    },
    close: () => pool.end(),
  };
}

function sqliteStore(dataDir: string): Store {
  const db = new SQLite(path.join(dataDir, 'kith.db'));
  // The connection settings of src/db/database.ts.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${64 * 1024}`);
  db.pragma(`mmap_size = ${1024 * 1024 * 1024}`);
  const get = db.prepare(GET.replace(/\$\d/g, '?'));
  const patch = db.prepare(PATCH_SQLITE);
  const insert = db.prepare(
    `insert into contacts (${INSERT_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, 1)`,
  );
  const tag = db.prepare('insert into contact_tags (contact_id, instance_id, tag) values (?, ?, ?)');
  const fts = db.prepare('insert into contacts_fts (rowid, terms) values (?, ?)');
  const create = db.transaction((body: string): Row => {
    const r = rows.get(body)!;
    const id = randomUUID();
    const at = now();
    const v = r.values;
    const { lastInsertRowid } = insert.run(
      id,
      spec.createInstanceId,
      v.is_primary,
      v.source,
      v.external_id,
      v.sort_name,
      v.sort_last,
      v.sort_company,
      v.doc,
      at,
      at,
    );
    for (const t of r.tags) tag.run(id, spec.createInstanceId, t);
    fts.run(lastInsertRowid, ftsText(spec.createInstanceId, r.terms));
    return { ...v, id, created_at: at, updated_at: at, version: 1 };
  });
  const statements = new Map<string, SQLite.Statement>();
  const run = (q: { sql: string; parameters: unknown[] }) => {
    let s = statements.get(q.sql);
    if (!s) statements.set(q.sql, (s = db.prepare(q.sql)));
    return s.all(q.parameters) as Row[];
  };
  return {
    get: async (id) => get.get(spec.readInstanceId, id) as Row | undefined,
    patch: async (id, avatarUrl) => patch.get(avatarUrl, now(), spec.readInstanceId, id) as Row | undefined,
    create: async (body) => create(body),
    list: async (shape, variant) => variantOf(shape, variant).map(run)[0]!,
    close: async () => {
      db.close();
    },
  };
}

const store = spec.databaseUrl ? postgresStore(spec.databaseUrl) : sqliteStore(spec.dataDir!);

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, kithLikeHeaders(body));
  res.end(body);
}

async function handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
  const [, action, a, b] = (req.url ?? '').split('/');
  if (req.method === 'GET' && action === 'get') {
    const row = await store.get(a!);
    send(res, row ? 200 : 404, row ? contactBody(row) : '{"error":"not found"}');
  } else if (req.method === 'PATCH' && action === 'patch') {
    const input = JSON.parse(body) as { avatarUrl: string };
    const row = await store.patch(a!, input.avatarUrl);
    send(res, row ? 200 : 404, row ? contactBody(row) : '{"error":"not found"}');
  } else if (req.method === 'POST' && action === 'create') {
    JSON.parse(body);
    send(res, 201, contactBody(await store.create(body)));
  } else if (req.method === 'GET' && action === 'list') {
    const page = await store.list(a!, Number(b));
    send(res, 200, `{"data":[${page.map(contactBody).join(',')}]}`);
  } else {
    send(res, 404, '{"error":"no such route"}');
  }
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    handle(req, Buffer.concat(chunks).toString('utf8'), res).catch((error: unknown) => {
      process.stderr.write(`raw baseline: ${String(error)}\n`);
      send(res, 500, '{"error":"internal"}');
    });
  });
});
// Same keep-alive timeout as Fastify's default, so idle connections behave alike.
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const ready: ReadyMessage = { type: 'ready', url: `http://127.0.0.1:${port}` };
  process.send?.(ready);
});

answerParent(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await store.close();
});
