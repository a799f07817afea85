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
  /** Whether the routes seed 003 marks public answer without a token here (off unless an administrator opens it). */
  public_intake: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
}

export interface SecurityPoliciesTable {
  id: string;
  tenant_id: string;
  name: string;
  grants: Json;
  /** Company ids the policy's clients are limited to (a JSON array), or null for every company. */
  companies: Json | null;
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

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  instance_id: string;
  url: string;
  description: string | null;
  event_types: Json;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Timestamp | null;
  enabled: Bool;
  disabled_reason: string | null;
  disabled_at: Timestamp | null;
  failing_since: Timestamp | null;
  cursor_seq: number;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  instance_id: string;
  event_id: string;
  seq: number;
  resource_id: string;
  origin: string;
  status: string;
  attempts: number;
  next_attempt_at: Timestamp;
  locked_until: Timestamp | null;
  locked_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookAttemptsTable {
  id: string;
  tenant_id: string;
  instance_id: string;
  endpoint_id: string;
  url: string;
  delivery_id: string | null;
  event_id: string;
  event_type: string;
  origin: string;
  attempt: number;
  attempted_at: Timestamp;
  status: string;
  http_status: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
}

export interface AuditLogTable {
  id: string;
  /** The tenant's id, or `system`. */
  chain: string;
  seq: number;
  at: Timestamp;
  instance_id: string | null;
  instance: string | null;
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  method: string | null;
  route: string | null;
  status: number | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  /** Canonical JSON text (hashed as stored). */
  query: string | null;
  result_count: number | null;
  result_total: number | null;
  prev_hash: string;
  hash: string;
}

export interface AuditChainsTable {
  chain: string;
  last_seq: number;
  last_hash: string;
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
  audit_log: AuditLogTable;
  audit_chains: AuditChainsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}
