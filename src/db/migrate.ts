// Versioned, forward-only migrations, applied at start. Kysely's Migrator records what ran in
// `kysely_migration` and, on PostgreSQL, holds a lock so nodes starting together migrate once.
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './database.ts';
import { foundation } from './migrations/0001_foundation.ts';
import { directory } from './migrations/0002_directory.ts';
import { events } from './migrations/0003_events.ts';
import { audit } from './migrations/0004_audit.ts';
import { webhooks } from './migrations/0005_webhooks.ts';
import { contactIndexes } from './migrations/0006_contact_indexes.ts';
import { faces } from './migrations/0007_faces.ts';
import { columnTypes, type KithMigration } from './migrations/types.ts';

/** In order. Never edit or reorder a released entry: add a new one. */
export const MIGRATIONS: ReadonlyArray<readonly [string, KithMigration]> = [
  ['0001_foundation', foundation],
  ['0002_directory', directory],
  ['0003_events', events],
  ['0004_audit', audit],
  ['0005_webhooks', webhooks],
  ['0006_contact_indexes', contactIndexes],
  ['0007_faces', faces],
];

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]![0];

function provider(database: Database): MigrationProvider {
  const types = columnTypes(database.engine);
  return {
    getMigrations: () =>
      Promise.resolve(
        Object.fromEntries(
          MIGRATIONS.map(([name, m]): [string, Migration] => [
            name,
            { up: (db) => m.up(db, types, database.engine) },
          ]),
        ),
      ),
  };
}

export async function migrate(database: Database): Promise<string[]> {
  const migrator = new Migrator({ db: database.db, provider: provider(database) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every migration this build knows has been applied (the readiness check). */
export async function isMigrated(database: Database): Promise<boolean> {
  const migrator = new Migrator({ db: database.db, provider: provider(database) });
  const all = await migrator.getMigrations();
  return all.length > 0 && all.every((m) => m.executedAt !== undefined);
}
