// The audit log's vocabulary and its one API shape (GET /{t}/admin/audit-data). Item names follow Welkin's recorded
// data-audit item (eventId, eventEntity, eventSubtype, subjectActor, subjectUserId, subjectFullName, instance,
// sentAt) where it has one; docs/audit.md maps every field.
import { Type, type Static } from 'typebox';
import { MetaInfoPageSchema, PageQuery } from '../../platform/http/pagination.ts';
import { TenantParams } from '../../platform/http/params.ts';
import { Nullable, StringEnum } from '../../platform/http/schema-helpers.ts';

/** Changes (from the write path), then what requests did (reads, lists, exports, refusals), then the log's own. */
export const AUDIT_ACTIONS = [
  'created',
  'updated',
  'deleted',
  'restored',
  'purged',
  'read',
  'listed',
  'exported',
  'denied',
  'dropped',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** What rows are about: the records, and the API's other resources (for refusals and the log's own reads). */
export const AUDIT_RESOURCES = [
  'patient',
  'contact',
  'company',
  'event',
  'instance',
  'webhook',
  'export',
  'audit',
  'tenant',
  'api_client',
  'policy',
] as const;
export type AuditResource = (typeof AUDIT_RESOURCES)[number];

export const ACTOR_TYPES = ['API_CLIENT', 'ANONYMOUS', 'SYSTEM'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** The chain of rows that cannot be tied to a tenant (a path naming no existing tenant, dropped-row markers). */
export const SYSTEM_CHAIN = 'system';

/** What a route tells the audit log it reads (`config.audit`); writes are recorded by the write path instead. */
export interface AuditedRoute {
  action: 'read' | 'list';
  resource: AuditResource;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Audit successful requests of this route as a read or a list (see modules/audit/README.md). */
    audit?: AuditedRoute;
  }
}

/** One row as the services build it, before it joins a chain. Never holds a resource's values. */
export interface AuditEntry {
  /** The tenant whose chain gets the row; null when only a name from the path is known (see tenantName). */
  tenantId: string | null;
  /** A tenant name from the path of an anonymous request, resolved when the row is appended. */
  tenantName: string | null;
  at: string;
  instanceId: string | null;
  instance: string | null;
  actorType: ActorType;
  actorId: string | null;
  actorName: string | null;
  action: AuditAction;
  resourceType: string | null;
  resourceId: string | null;
  method: string | null;
  route: string | null;
  status: number | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** Query parameters (and a list's filter body) with every free-text value redacted. */
  query: Record<string, unknown> | null;
  resultCount: number | null;
  resultTotal: number | null;
}

export const AuditItem = Type.Object({
  eventId: Type.String({ description: 'aud_…' }),
  sentAt: Type.String({ format: 'date-time', description: 'When it happened' }),
  eventEntity: Nullable(Type.String({ description: 'Resource type in capitals, e.g. CONTACT' })),
  eventSubtype: Type.String({ description: 'ENTITY_ACTION, e.g. CONTACT_CREATED, PATIENT_READ' }),
  action: StringEnum(AUDIT_ACTIONS),
  resourceType: Nullable(Type.String()),
  resourceId: Nullable(Type.String()),
  subjectActor: StringEnum(ACTOR_TYPES),
  subjectUserId: Nullable(Type.String({ description: "The API client's id" })),
  subjectFullName: Nullable(Type.String({ description: 'e.g. API_CLIENT:billing sync' })),
  instance: Nullable(Type.String()),
  outcome: StringEnum(['SUCCESS', 'DENIED', 'NOT_FOUND'] as const),
  status: Nullable(Type.Integer({ description: 'HTTP status; null for changes (recorded as they commit)' })),
  method: Nullable(Type.String()),
  route: Nullable(Type.String({ description: 'The route pattern, e.g. /:tenant/:instance/contacts/:id' })),
  ip: Nullable(Type.String()),
  userAgent: Nullable(Type.String()),
  requestId: Nullable(Type.String()),
  query: Nullable(
    Type.Record(Type.String(), Type.Unknown(), { description: 'Free text shows as [redacted]' }),
  ),
  resultCount: Nullable(Type.Integer({ description: 'Items a read or list returned' })),
  resultTotal: Nullable(Type.Integer({ description: 'Items a list matched' })),
  sequence: Type.Integer({ description: "Position in the tenant's hash chain" }),
  prevHash: Type.String(),
  hash: Type.String({ description: 'SHA-256 of the canonical row, previous hash included' }),
});
export type AuditItem = Static<typeof AuditItem>;

const NAME = '^[a-z0-9][a-z0-9-]{1,62}$';

export const AuditQuery = Type.Object({
  ...PageQuery.properties,
  instance: Type.Optional(Type.String({ pattern: NAME, description: 'Instance name' })),
  actor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Client id (subjectUserId) or subjectFullName',
    }),
  ),
  resourceType: Type.Optional(StringEnum(AUDIT_RESOURCES)),
  resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  action: Type.Optional(StringEnum(AUDIT_ACTIONS)),
  dateStart: Type.Optional(Type.String({ format: 'date-time', description: 'From this time (inclusive)' })),
  dateEnd: Type.Optional(Type.String({ format: 'date-time', description: 'Before this time (exclusive)' })),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditListResponse = MetaInfoPageSchema(AuditItem);
export const AuditParams = TenantParams;
