// A fresh, empty database for each run, removed afterwards: a temp directory for SQLite, or a new database on the
// local PostgreSQL server (trust auth), as test/global-setup.ts does for the tests.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export type Engine = 'sqlite' | 'postgres';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  /** The KITH_* variables that point Kith at this database. */
  env: Record<string, string>;
  /** Where it is, for the report (no password: trust auth). */
  location: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(engine: Engine, postgresUrl: string): Promise<BenchDatabase> {
  if (engine === 'sqlite') {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kith-bench-'));
    return {
      env: { KITH_DATA_DIR: dataDir },
      location: path.join(dataDir, 'kith.db'),
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  // A generated name of [a-z0-9_] only, so it can be put in the SQL text (identifiers cannot be parameters).
  const name = `kith_bench_${Date.now()}_${randomBytes(4).toString('hex')}`;
  await adminQuery(postgresUrl, `create database ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    env: { KITH_DATABASE_URL: url.toString() },
    location: url.toString(),
    drop: () => adminQuery(postgresUrl, `drop database if exists ${name} with (force)`),
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
