import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase } from './database.ts';
import { LATEST_MIGRATION, MIGRATIONS, isMigrated, migrate } from './migrate.ts';
import { testDatabaseSettings } from '../../test/harness.ts';

const settings = testDatabaseSettings();
afterAll(() => fs.rmSync(settings.dataDir, { recursive: true, force: true }));

describe('migrations', () => {
  it('apply once; a second start on a migrated database changes nothing', async () => {
    const database = openDatabase({ ...settings, databasePoolSize: 2 });
    try {
      await migrate(database);
      expect(await isMigrated(database)).toBe(true);
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
        database.db,
      );
      expect(applied.rows.map((r) => r.name)).toEqual(MIGRATIONS.map(([name]) => name));
      expect(applied.rows.at(-1)?.name).toBe(LATEST_MIGRATION);
      expect(await migrate(database)).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('uses WAL, a busy timeout and foreign keys on SQLite', async () => {
    const database = openDatabase({ ...settings, databaseUrl: undefined, databasePoolSize: 1 });
    try {
      const pragma = async (name: string): Promise<unknown> =>
        Object.values((await sql.raw(`pragma ${name}`).execute(database.db)).rows[0] as object)[0] as unknown;
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('foreign_keys')).toBe(1);
    } finally {
      await database.close();
    }
  });
});
