// On PostgreSQL (KITH_DATABASE_URL set), each run gets a fresh database, dropped afterwards, so parallel and
// repeated runs never collide. On SQLite each test file opens its own file (see harness.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const baseUrl = process.env.KITH_DATABASE_URL;
  if (!baseUrl) {
    project.provide('databaseUrl', '');
    return;
  }
  const name = `kith_test_${Date.now()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  project.provide('databaseUrl', url.toString());

  return async () => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  };
}
