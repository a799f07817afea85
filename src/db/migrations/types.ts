import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

/** Column types that differ between the engines; migrations use these instead of naming a type directly. */
export interface ColumnTypes {
  timestamp: 'timestamptz' | 'text';
  boolean: 'boolean' | 'integer';
  json: 'jsonb' | 'text';
}

export function columnTypes(engine: Engine): ColumnTypes {
  return engine === 'postgres'
    ? { timestamp: 'timestamptz', boolean: 'boolean', json: 'jsonb' }
    : { timestamp: 'text', boolean: 'integer', json: 'text' };
}

export interface KithMigration {
  // Migrations work on the schema as it was when they were written, not on today's DB type.
  up(db: Kysely<unknown>, types: ColumnTypes, engine: Engine): Promise<void>;
}
