// Opens the configured engine: SQLite (embedded default) or PostgreSQL (KITH_DATABASE_URL). Everything above this
// module sees one Kysely<DB>; the few places where the engines differ ask `engine`.
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase, type Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.ts';
import type { DB } from './schema.ts';

export type Engine = 'sqlite' | 'postgres';

/** A handle queries run on: the database itself, or an open transaction. */
export type Db = Kysely<DB> | Transaction<DB>;

export interface Database {
  db: Kysely<DB>;
  engine: Engine;
  /** A description safe to print: the file path or the URL without its password. */
  location: string;
  /** Booleans as the engine stores them (better-sqlite3 cannot bind JS booleans). */
  bool: (value: boolean) => boolean | number;
  close(): Promise<void>;
}

// pg would parse int8 (count(*)) as a string; counts here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function openDatabase(config: Pick<Config, 'databaseUrl' | 'databasePoolSize' | 'dataDir'>): Database {
  return config.databaseUrl
    ? openPostgres(config.databaseUrl, config.databasePoolSize)
    : openSqlite(config.dataDir);
}

function openSqlite(dataDir: string): Database {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'kith.db');
  const connection = new SQLite(file);
  connection.pragma('journal_mode = WAL');
  // Admin commands write while a server runs: wait for the lock instead of failing with SQLITE_BUSY.
  connection.pragma('busy_timeout = 5000');
  connection.pragma('foreign_keys = ON');
  connection.pragma('synchronous = NORMAL');
  // SQLite's default page cache is 2 MB: a list touching a thousand rows scattered over a large table then reads
  // most pages from the OS again, one system call each. A larger cache, and reads through a memory map, measured
  // list and count queries 2-5× faster on a 100k-contact database.
  connection.pragma(`cache_size = -${64 * 1024}`);
  connection.pragma(`mmap_size = ${1024 * 1024 * 1024}`);
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(connection) }) });
  return {
    db,
    engine: 'sqlite',
    location: file,
    bool: (value) => (value ? 1 : 0),
    close: () => db.destroy(),
  };
}

/**
 * Kysely prepares a better-sqlite3 statement for every query it runs; preparing costs several times what running
 * a small query does (measured: 378 µs for a get by id, most of it in prepare). Queries come from a fixed set of
 * builders, so their SQL texts repeat and their statements can be kept and reused.
 */
function withStatementCache(connection: SQLite.Database): SqliteDatabase {
  const statements = new LRUCache<string, SQLite.Statement>({ max: 2000 });
  return {
    close: () => connection.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = connection.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string, poolSize: number): Database {
  // No parallel query: Kith's statements are short and many run at once; a count that launched a worker took 27 ms
  // where the same plan without one took 6 (the workers' start-up, on cores the other requests need).
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: '-c max_parallel_workers_per_gather=0',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const safe = new URL(url);
  safe.password = safe.password ? '***' : '';
  return {
    db,
    engine: 'postgres',
    location: safe.toString(),
    bool: (value) => value,
    close: () => db.destroy(),
  };
}

export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}
