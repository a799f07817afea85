// Row types of the tables as Kysely sees them. Timestamps are ISO strings on SQLite and Date objects on
// PostgreSQL (timestamptz); `Timestamp` covers both and `toIso` (db/values.ts) turns either into the API form.
import type { ColumnType, Generated } from 'kysely';

export type Timestamp = ColumnType<Date | string, string, string>;
/** SQLite stores booleans as 0/1, PostgreSQL as boolean. */
export type Bool = ColumnType<boolean | number, boolean | number, boolean | number>;
/** SQLite stores JSON as text, PostgreSQL as jsonb (read back already parsed). */
export type Json = ColumnType<unknown, string, string>;

export interface SettingsTable {
  key: string;
  value: string;
}

export interface TenantsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface InstancesTable {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Timestamp;
}

export interface SecurityPoliciesTable {
  id: string;
  tenant_id: string;
  name: string;
  grants: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiClientsTable {
  id: string;
  tenant_id: string;
  key: string;
  name: string;
  secret_hash: string;
  secret_version: Generated<number>;
  policy: string;
  enabled: Bool;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiClientInstancesTable {
  client_id: string;
  instance_id: string;
  position: number;
}

export interface DB {
  kith_settings: SettingsTable;
  tenants: TenantsTable;
  instances: InstancesTable;
  security_policies: SecurityPoliciesTable;
  api_clients: ApiClientsTable;
  api_client_instances: ApiClientInstancesTable;
}
