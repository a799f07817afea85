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
  /** Default region for phone numbers without a country code. */
  phone_region: Generated<string>;
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

/** Columns every instance-scoped document table shares: the document itself plus what is indexed. */
interface DocumentColumns {
  id: string;
  instance_id: string;
  doc: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  version: number;
}

export interface PatientsTable extends DocumentColumns {
  first_name: string;
  last_name: string;
  external_id: string | null;
  external_guid: string | null;
  mrn: string | null;
}

export interface CompaniesTable extends DocumentColumns {
  name: string;
  sort_name: string;
  external_id: string | null;
}

export interface ContactsTable extends DocumentColumns {
  /** SQLite only: the stable rowid its full-text index refers to. */
  seq: Generated<number>;
  patient_id: string | null;
  company_id: string | null;
  relationship: string | null;
  is_primary: Bool;
  source: string | null;
  external_id: string | null;
  sort_name: string;
  sort_last: string;
  sort_company: string;
  /** PostgreSQL only: the search vector (see db/search.ts). */
  search: ColumnType<unknown, unknown, unknown>;
}

export interface ContactTagsTable {
  contact_id: string;
  instance_id: string;
  tag: string;
}

export interface IdempotencyKeysTable {
  client_id: string;
  key: string;
  fingerprint: string;
  status: number | null;
  response: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface EventsTable {
  id: string;
  instance_id: string;
  seq: number;
  type: string;
  resource_type: string;
  resource_id: string;
  occurred_at: Timestamp;
  actor_id: string;
  actor_name: string;
  request_id: string | null;
  data: Json;
}

export interface EventSequencesTable {
  instance_id: string;
  last_seq: number;
  purged_through: Generated<number>;
}

export interface DB {
  kith_settings: SettingsTable;
  tenants: TenantsTable;
  instances: InstancesTable;
  security_policies: SecurityPoliciesTable;
  api_clients: ApiClientsTable;
  api_client_instances: ApiClientInstancesTable;
  patients: PatientsTable;
  companies: CompaniesTable;
  contacts: ContactsTable;
  contact_tags: ContactTagsTable;
  idempotency_keys: IdempotencyKeysTable;
  events: EventsTable;
  event_sequences: EventSequencesTable;
}
