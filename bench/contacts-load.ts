// The bulk load of the dataset builder: worker threads build the rows (contacts-worker.ts), the main thread
// inserts them in order, in large batches, one transaction per batch, into a freshly migrated database.
// Secondary indexes are dropped first and rebuilt from their own definitions afterwards (one sort per index
// instead of a million random B-tree and GIN insertions). At the end, the maintenance a DBA runs after an import:
// ANALYZE on both engines (VACUUM ANALYZE on PostgreSQL, for the visibility map index-only scans rely on), and an
// FTS5 'optimize' on SQLite.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { DatasetPlan } from './contacts-rows.ts';
import { CONTACT_COLUMNS, type BatchReply, type BatchRequest, type WorkerInput } from './contacts-batch.ts';

export type LoadTarget = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

export interface LoadOptions {
  batchSize: number;
  workers: number;
  progress: (message: string) => void;
}

export interface LoadTimings {
  insertSeconds: number;
  indexSeconds: number;
  analyzeSeconds: number;
}

// Node 20 does not carry tsx's module hooks (nor an --import of them) into worker threads, so each worker
// registers them itself before loading the TypeScript worker module.
const BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('contacts-worker.ts', import.meta.url).href)}); })`;

/** The rows of every batch, built by a pool of workers and handed out in batch order. */
async function* batches(plan: DatasetPlan, count: number, options: LoadOptions): AsyncGenerator<BatchReply> {
  const total = Math.ceil(count / options.batchSize);
  const workerData: WorkerInput = { plan };
  const workers = Array.from(
    { length: Math.max(1, options.workers) },
    // A large young generation: each batch holds thousands of fresh rows, which would otherwise be copied
    // into the old generation by scavenges before they are sent.
    () =>
      new Worker(BOOTSTRAP, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: 256 } }),
  );
  const done = new Map<number, BatchReply>();
  const idle = [...workers];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let next = 0;
  // At most two batches per worker built or being built ahead of the inserts, so memory stays bounded when
  // inserting is the slower side.
  const pump = () => {
    while (idle.length > 0 && next < total && done.size + workers.length - idle.length < 2 * workers.length) {
      const start = next * options.batchSize;
      const request: BatchRequest = { batch: next++, start, end: Math.min(count, start + options.batchSize) };
      idle.pop()!.postMessage(request);
    }
  };
  for (const worker of workers) {
    worker.on('message', (reply: BatchReply) => {
      done.set(reply.batch, reply);
      idle.push(worker);
      pump();
      wake?.();
    });
    worker.on('error', (error: Error) => {
      failure = error;
      wake?.();
    });
  }
  pump();
  try {
    for (let batch = 0; batch < total; batch++) {
      while (!done.has(batch)) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const reply = done.get(batch)!;
      done.delete(batch);
      pump();
      yield reply;
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const elapsed = (since: number) => (performance.now() - since) / 1000;

async function loadSqlite(file: string, plan: DatasetPlan, count: number, options: LoadOptions) {
  const db = new SQLite(file);
  try {
    // A bulk load into a throwaway file: no fsync per transaction, a large cache, and no foreign-key lookups
    // (the rows reference instances this process has just created).
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -1048576');
    db.pragma('temp_store = MEMORY');
    // Index builds sort with helper threads.
    db.pragma('threads = 2');
    db.pragma('foreign_keys = OFF');
    // No rollback journal while loading (a crash means seeding again): every page is written once, not twice.
    db.pragma('journal_mode = OFF');
    // No full-text segment merging while loading: each transaction adds one segment and 'optimize' merges
    // them all once at the end, instead of re-merging ever larger segments as the index grows.
    db.exec(`insert into contacts_fts (contacts_fts, rank) values ('automerge', 0)`);
    db.exec(`insert into contacts_fts (contacts_fts, rank) values ('crisismerge', 2000)`);
    const indexes = db
      .prepare(
        `select name, sql from sqlite_master where type = 'index' and sql is not null
         and tbl_name in ('contacts', 'contact_tags')`,
      )
      .all() as Array<{ name: string; sql: string }>;
    for (const { name } of indexes) db.exec(`drop index "${name}"`);
    const columns = ['seq', ...CONTACT_COLUMNS];
    const contact = db.prepare(
      `insert into contacts (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
    );
    const tag = db.prepare('insert into contact_tags (contact_id, instance_id, tag) values (?, ?, ?)');
    const fts = db.prepare('insert into contacts_fts (rowid, terms) values (?, ?)');
    const insert = db.transaction((reply: BatchReply) => {
      const b = reply.sqlite!;
      for (const row of b.contacts) contact.run(row);
      for (const row of b.tags) tag.run(row);
      for (const row of b.fts) fts.run(row);
    });
    let started = performance.now();
    let loaded = 0;
    let busy = 0;
    for await (const reply of batches(plan, count, options)) {
      const t = performance.now();
      insert(reply);
      busy += performance.now() - t;
      loaded += reply.count;
      if (loaded % 100_000 < options.batchSize) {
        options.progress(`${loaded} contacts inserted (${elapsed(started).toFixed(1)} s)`);
      }
    }
    const insertSeconds = elapsed(started);
    // Which side bounds the load: inserting (this thread) or building rows (the workers).
    options.progress(
      `inserting kept this thread busy ${(busy / 1000).toFixed(1)} s of ${insertSeconds.toFixed(1)} s`,
    );
    started = performance.now();
    for (const { sql } of indexes) db.exec(sql);
    const indexSeconds = elapsed(started);
    started = performance.now();
    // Each insert transaction left a segment in the full-text index and a search reads every segment; merge
    // them into one, as a DBA would after an import (see docs/benchmarks-contacts.md for the difference).
    db.exec(`insert into contacts_fts (contacts_fts) values ('optimize')`);
    // Back to FTS5's defaults and Kith's journal mode, so the database behaves as one Kith filled itself.
    db.exec(`insert into contacts_fts (contacts_fts, rank) values ('automerge', 4)`);
    db.exec(`insert into contacts_fts (contacts_fts, rank) values ('crisismerge', 16)`);
    db.exec('analyze');
    db.pragma('journal_mode = WAL');
    return { insertSeconds, indexSeconds, analyzeSeconds: elapsed(started) };
  } finally {
    db.close();
  }
}

async function loadPostgres(url: string, plan: DatasetPlan, count: number, options: LoadOptions) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The load's own session only: commits need not wait for the WAL flush (a crash just means seeding again),
    // and index builds get memory enough to sort in one pass. Foreign-key triggers are skipped for the load
    // (needs a superuser; the rows only reference instances this process has just created).
    await client.query(`set synchronous_commit = off`);
    await client.query(`set maintenance_work_mem = '1GB'`);
    await client.query(`set session_replication_role = replica`).catch(() => {
      options.progress('not a superuser: foreign keys are checked during the load (slower)');
    });
    const { rows: indexes } = await client.query<{ name: string; sql: string }>(
      `select indexname as name, indexdef as sql from pg_indexes
       where schemaname = current_schema() and tablename in ('contacts', 'contact_tags')
       and indexname not in (select conname from pg_constraint)`,
    );
    for (const { name } of indexes) await client.query(`drop index "${name}"`);
    const n = CONTACT_COLUMNS.length;
    // Every value travels as text in one array per column; the casts are the columns' types.
    const casts: Record<string, string> = {
      is_primary: 'boolean',
      doc: 'jsonb',
      created_at: 'timestamptz',
      updated_at: 'timestamptz',
      deleted_at: 'timestamptz',
      version: 'integer',
    };
    const contactSql =
      `insert into contacts (${CONTACT_COLUMNS.join(', ')}, search) select ` +
      CONTACT_COLUMNS.map((c, i) => `c${i}${casts[c] ? `::${casts[c]}` : ''}`).join(', ') +
      // The search column as db/search.ts writes it: array_to_tsvector of the terms.
      `, array_to_tsvector(string_to_array(c${n}, ' ')) from unnest(` +
      Array.from({ length: n + 1 }, (_, i) => `$${i + 1}::text[]`).join(', ') +
      `) as u(${Array.from({ length: n + 1 }, (_, i) => `c${i}`).join(', ')})`;
    const tagSql =
      'insert into contact_tags (contact_id, instance_id, tag) ' +
      'select * from unnest($1::text[], $2::text[], $3::text[])';
    let started = performance.now();
    let loaded = 0;
    let busy = 0;
    for await (const reply of batches(plan, count, options)) {
      const b = reply.postgres!;
      const t = performance.now();
      await client.query('begin');
      await client.query(contactSql, b.contacts);
      await client.query(tagSql, b.tags);
      await client.query('commit');
      busy += performance.now() - t;
      loaded += reply.count;
      if (loaded % 100_000 < options.batchSize) {
        options.progress(`${loaded} contacts inserted (${elapsed(started).toFixed(1)} s)`);
      }
    }
    const insertSeconds = elapsed(started);
    options.progress(`the inserts took ${(busy / 1000).toFixed(1)} s of ${insertSeconds.toFixed(1)} s`);
    started = performance.now();
    await client.query('set session_replication_role = origin').catch(() => undefined);
    // PostgreSQL builds B-trees with parallel workers; one session per index would just compete for 2 cores.
    for (const { sql } of indexes) await client.query(sql);
    const indexSeconds = elapsed(started);
    started = performance.now();
    await client.query('vacuum (analyze) contacts, contact_tags');
    return { insertSeconds, indexSeconds, analyzeSeconds: elapsed(started) };
  } finally {
    await client.end();
  }
}

export function loadContacts(
  target: LoadTarget,
  plan: DatasetPlan,
  count: number,
  options: Partial<LoadOptions> = {},
): Promise<LoadTimings> {
  const full: LoadOptions = {
    batchSize: options.batchSize ?? 10_000,
    workers: options.workers ?? os.availableParallelism(),
    progress: options.progress ?? (() => undefined),
  };
  return target.engine === 'sqlite'
    ? loadSqlite(target.file, plan, count, full)
    : loadPostgres(target.url, plan, count, full);
}
