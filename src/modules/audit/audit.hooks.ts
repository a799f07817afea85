// The request side of the audit log: hooks on every route that turn a finished request into a row when it was a
// read or a list (routes say so in `config.audit`), or was refused (401, 403, or 404 for an id the caller's
// instance does not have). Changes are not recorded here but in their own transaction (AuditService.record);
// these hooks only remember where a writing request came from so that row can say it.
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { actorOf, isAnonymous } from '../../platform/http/context.ts';
import type { KithApp } from '../../platform/http/types.ts';
import { blankEntry, type AuditService, type RequestOrigin } from './audit.service.ts';
import type { Resource } from '../../platform/auth/policies.ts';
import type { AuditEntry, AuditResource } from './audit.schemas.ts';

const REDACTED = '[redacted]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z0-9][a-z0-9-]{1,62}$/;
const READS_PATIENT_DATA = new Set(['patients:read', 'contacts:read', 'companies:read']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The audit's resource type for each policy resource, for refusals on routes that declare no `config.audit`. */
const RESOURCE_OF: Record<Resource, AuditResource> = {
  patients: 'patient',
  contacts: 'contact',
  companies: 'company',
  instances: 'instance',
  audit: 'audit',
  webhooks: 'webhook',
  export: 'export',
};
const MAX_KEYS = 30;

interface ReadResult {
  id: string | null;
  count: number | null;
  total: number | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What a read or list route answered, kept for its audit row. */
    auditResult: ReadResult | null;
    /** Where a writing request came from, while it runs. */
    auditOrigin: RequestOrigin | null;
  }
}

/** Adds the audit hooks to the app. Call before any route is registered (routes are checked as they are added). */
export function installAudit(app: KithApp, audit: AuditService, clock: Clock): void {
  audit.useLog(app.log);
  app.decorateRequest('auditResult', null);
  app.decorateRequest('auditOrigin', null);

  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = route.config?.permission;
    if (typeof permission === 'string' && READS_PATIENT_DATA.has(permission) && !route.config?.audit) {
      throw new Error(
        `Route ${String(route.method)} ${route.url} reads records but declares no config.audit`,
      );
    }
  });

  app.addHook('preHandler', (request, _reply, done) => {
    if (WRITE_METHODS.has(request.method) && request.ctx?.principal) {
      request.auditOrigin = requestOrigin(request);
      audit.trackOrigin(request.id, request.auditOrigin);
    }
    done();
  });

  app.addHook('preSerialization', (request: FastifyRequest, _reply, payload: unknown, done) => {
    if (payload !== null && typeof payload === 'object' && request.routeOptions.config.audit) {
      request.auditResult = resultOf(payload as Record<string, unknown>);
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (request.auditOrigin) audit.releaseOrigin(request.id, request.auditOrigin);
    const entry = entryOf(request, reply, clock);
    if (entry) audit.enqueue(entry);
    done();
  });

  app.addHook('onClose', async () => audit.close());
}

/** Where a request came from, e.g. for AuditService.recordExport. */
export function requestOrigin(request: FastifyRequest, route = request.routeOptions): RequestOrigin {
  const userAgent = request.headers['user-agent'];
  return {
    method: request.method,
    route: route.url ?? null,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 256) : null,
  };
}

/** The row a finished request gets, or undefined when it gets none. */
function entryOf(request: FastifyRequest, reply: FastifyReply, clock: Clock): AuditEntry | undefined {
  const status = reply.statusCode;
  // A getter that builds a new object on every call: read once.
  const route = request.routeOptions;
  const config = route.config;
  const permission = config.permission;
  const matched = permission !== undefined;
  const refused = status === 401 || status === 403 || (status === 404 && matched && permission !== 'public');
  const audited = config.audit;
  if (!refused && !(audited && status < 300)) return undefined;

  const principal = request.ctx?.principal;
  const scope = request.ctx?.scope;
  const params = (request.params ?? {}) as Record<string, unknown>;
  const pathTenant = nameOrNull(params.tenant);
  // Another tenant's path names nothing of the caller's: its instance name would only mislead.
  // A bare path (a face's, in the client's default instance) names no tenant: it is the caller's own.
  const ownPath = !principal || params.tenant === undefined || pathTenant === principal.tenantName;
  const action = refused ? 'denied' : audited!.action === 'read' ? 'read' : 'listed';
  const result = refused ? null : request.auditResult;
  const ids = pathIds(params);
  // `public` and `authenticated` name no resource.
  const permissionResource =
    typeof permission === 'string' ? (permission.split(':')[0] as Resource) : undefined;
  return {
    ...blankEntry(clock.now().toISOString()),
    tenantId: principal?.tenantId ?? null,
    tenantName: principal ? null : pathTenant,
    instanceId: scope?.instanceId ?? null,
    instance: scope?.instance ?? (ownPath ? nameOrNull(params.instance) : null),
    actorType: principal && !isAnonymous(principal) ? 'API_CLIENT' : 'ANONYMOUS',
    actorId: principal?.clientId ?? null,
    actorName: principal ? actorOf(principal).name : null,
    action,
    resourceType: audited?.resource ?? (permissionResource && RESOURCE_OF[permissionResource]) ?? null,
    // A list names its parent ids among its query; a read names what it returned.
    resourceId: action === 'listed' ? null : (result?.id ?? (ownPath ? (ids.at(-1)?.[1] ?? null) : null)),
    ...requestOrigin(request, route),
    status,
    requestId: request.id,
    query: refused ? null : queryOf(request, route.schema, action === 'listed' ? ids : []),
    resultCount: result?.count ?? null,
    resultTotal: result?.total ?? null,
  };
}

function nameOrNull(value: unknown): string | null {
  return typeof value === 'string' && NAME.test(value) ? value : null;
}

/** The path's resource ids (in path order), left out unless they look like Kith ids (an MRN is patient data). */
function pathIds(params: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(params).flatMap(([key, value]) =>
    key !== 'tenant' && key !== 'instance' && typeof value === 'string' && UUID.test(value)
      ? [[key, value] as [string, string]]
      : [],
  );
}

/** What a read or list answered: the record's id, or how many items the page held and how many matched. */
function resultOf(payload: Record<string, unknown>): ReadResult {
  // A face may answer a list as a bare array (seed 003).
  if (Array.isArray(payload)) return { id: null, count: payload.length, total: null };
  const items = payload.data ?? payload.content;
  // A face may wrap a record as {data: {…}} and a page's counts as meta.total.
  const record = items !== null && typeof items === 'object' && !Array.isArray(items) ? items : payload;
  const meta = (payload.metaInfo ?? payload.meta) as Record<string, unknown> | undefined;
  const total = meta?.totalElements ?? meta?.total ?? payload.totalElements;
  const id = (record as Record<string, unknown>).id;
  return {
    id: typeof id === 'string' ? id : null,
    count: Array.isArray(items) ? items.length : null,
    total: typeof total === 'number' ? total : null,
  };
}

/** The validated query (and a list's filter body), with every value its schema does not make safe redacted. */
function queryOf(
  request: FastifyRequest,
  schema: FastifyRequest['routeOptions']['schema'],
  ids: Array<[string, string]>,
): Record<string, unknown> | null {
  const query = redactObject(request.query, schema?.querystring);
  const body = request.method === 'POST' ? redactObject(request.body, schema?.body) : {};
  const all = { ...Object.fromEntries(ids), ...query, ...(Object.keys(body).length > 0 ? { body } : {}) };
  return Object.keys(all).length > 0 ? all : null;
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
};

function redactObject(value: unknown, schema: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const entries = Object.entries(value as Record<string, unknown>).slice(0, MAX_KEYS);
  return Object.fromEntries(
    entries.map(([key, v]) => [key.slice(0, 64), redact(v, propertyOf(schema as JsonSchema, key))]),
  );
}

function propertyOf(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  if (!schema) return undefined;
  return schema.properties?.[key] ?? schema.allOf?.map((s) => propertyOf(s, key)).find(Boolean);
}

/** Numbers, flags, enums and dates pass as the schema declares them; Kith ids pass; anything else is free text. */
function redact(value: unknown, schema: JsonSchema | undefined): unknown {
  if (Array.isArray(value)) return value.slice(0, MAX_KEYS).map((v) => redact(v, schema?.items ?? schema));
  if (value === null || (schema && isSafe(schema))) return value;
  return typeof value === 'string' && UUID.test(value) ? value : REDACTED;
}

function isSafe(schema: JsonSchema): boolean {
  if (schema.enum !== undefined || schema.const !== undefined) return true;
  if (schema.anyOf) return schema.anyOf.every(isSafe);
  if (schema.format === 'date-time' || schema.format === 'date') return true;
  const types = [schema.type ?? []].flat();
  return types.length > 0 && types.every((t) => ['integer', 'number', 'boolean', 'null'].includes(t));
}
