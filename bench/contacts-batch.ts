// The batches the dataset builder's worker threads send to the loader: rows already shaped for the engine's bulk
// statement, so the main thread (which holds the database connection) spends its time inserting, not building.
import { ftsText } from '../src/db/search.ts';
import type { DatasetPlan, SeedRow } from './contacts-rows.ts';

export interface WorkerInput {
  plan: DatasetPlan;
}

export interface BatchRequest {
  batch: number;
  start: number;
  end: number;
}

/** SQLite: bind values per row, in the order of the loader's insert statements. */
export interface SqliteBatch {
  contacts: unknown[][];
  tags: string[][];
  fts: Array<[number, string]>;
}

/** PostgreSQL: one array literal per column, for `insert … select … from unnest($1::text[], …)`. */
export interface PostgresBatch {
  contacts: string[];
  tags: string[];
}

export interface BatchReply {
  batch: number;
  count: number;
  sqlite?: SqliteBatch;
  postgres?: PostgresBatch;
}

/** The contacts columns both loaders write, in order (seq, SQLite only, comes first there). */
export const CONTACT_COLUMNS = [
  'id',
  'instance_id',
  'is_primary',
  'source',
  'external_id',
  'sort_name',
  'sort_last',
  'sort_company',
  'doc',
  'created_at',
  'updated_at',
  'deleted_at',
  'version',
] as const;

// What db/search.ts stores: each term with anything but letters, digits and `_` removed (a no-op for the terms
// contacts.search.ts makes, kept so the stored text is computed the same way).
const safe = (term: string) => term.replace(/[^\p{L}\p{N}_]/gu, '');

/** A PostgreSQL array literal: elements double-quoted, `"` and `\` escaped, NULL unquoted. */
function arrayLiteral(values: Array<string | number | boolean | null>): string {
  const items = values.map((v) =>
    v === null ? 'NULL' : `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
  );
  return `{${items.join(',')}}`;
}

export function forSqlite(rows: SeedRow[], start: number): SqliteBatch {
  const batch: SqliteBatch = { contacts: [], tags: [], fts: [] };
  rows.forEach((row, i) => {
    // A fresh table: rows get seq = index + 1, so the FTS rowid is known without reading it back.
    const seq = start + i + 1;
    batch.contacts.push([seq, ...CONTACT_COLUMNS.map((c) => row[c])]);
    for (const tag of row.tags) batch.tags.push([row.id, row.instance_id, tag]);
    batch.fts.push([seq, ftsText(row.instance_id, row.terms)]);
  });
  return batch;
}

export function forPostgres(rows: SeedRow[]): PostgresBatch {
  const tagRows = rows.flatMap((row) => row.tags.map((tag) => [row.id, row.instance_id, tag] as const));
  return {
    contacts: [
      ...CONTACT_COLUMNS.map((c) => arrayLiteral(rows.map((row) => row[c] as string | number | null))),
      arrayLiteral(rows.map((row) => row.terms.map(safe).join(' '))),
    ],
    tags: [0, 1, 2].map((k) => arrayLiteral(tagRows.map((t) => t[k]!))),
  };
}
