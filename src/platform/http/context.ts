// The request context, built once per request by the authorization hook: request id, logger, the calling client
// and, on instance routes, the instance scope every repository call takes first.
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/authenticator.ts';
import type { Permission, RoutePermission } from '../auth/policies.ts';
import { KithError } from '../errors.ts';
import type { Actor, WriteContext } from '../writes.ts';

/** The instance a request works in. Every repository function takes this first. */
export interface InstanceScope {
  tenantId: string;
  tenant: string;
  instanceId: string;
  instance: string;
  /** The instance's default region for phone numbers written without a country code. */
  phoneRegion: string;
}

/** An unauthenticated caller admitted by a route's `anonymous` resolver, with what it may do and where. */
export interface Anonymous {
  principal: Principal;
  scope: InstanceScope;
}

export interface RequestContext {
  requestId: string;
  log: FastifyBaseLogger;
  principal: Principal | undefined;
  scope: InstanceScope | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
  interface FastifyContextConfig {
    permission?: RoutePermission;
    /**
     * Where a route without an `:instance` in its path finds its instance: `default-instance` is the calling
     * client's default (the compatibility faces' bare paths, e.g. `/contacts`).
     */
    scope?: 'default-instance';
    /**
     * Lets a request without an Authorization header through as an anonymous caller when this resolves to one
     * (public contact intake); otherwise such a request gets the usual 401.
     */
    anonymous?: (request: FastifyRequest) => Promise<Anonymous | undefined>;
    /**
     * The route applies a security policy's company limit itself (the company-contacts face). Every other route
     * refuses a company-limited client, so the limit cannot be stepped around through another API.
     */
    companyLimited?: true;
    /** Renders this route's errors in its API's own shape (a compatibility face); Welkin's array otherwise. */
    renderError?: (error: KithError, now: Date) => unknown;
  }
}

/** The principal of an authenticated route (the hook guarantees one; its absence is a programming error). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.ctx.principal) throw new KithError('INTERNAL_ERROR');
  return request.ctx.principal;
}

/** The scope of an instance route (`/:tenant/:instance/…`). */
export function scopeOf(request: FastifyRequest): InstanceScope {
  if (!request.ctx.scope) throw new KithError('INTERNAL_ERROR');
  return request.ctx.scope;
}

/** Whom anonymous callers (public contact intake) act as: audit rows say ANONYMOUS. No client has its id. */
export const ANONYMOUS_ACTOR: Actor = { id: 'anonymous', name: 'ANONYMOUS' };

/** An anonymous caller allowed `permissions` in one instance, for a route's `anonymous` resolver. */
export function anonymousCaller(scope: InstanceScope, permissions: ReadonlySet<Permission>): Anonymous {
  return {
    scope,
    principal: {
      clientId: ANONYMOUS_ACTOR.id,
      clientKey: ANONYMOUS_ACTOR.id,
      clientName: ANONYMOUS_ACTOR.name,
      tenantId: scope.tenantId,
      tenantName: scope.tenant,
      policy: 'anonymous',
      permissions,
      instances: new Map([[scope.instance, { id: scope.instanceId, phoneRegion: scope.phoneRegion }]]),
      companies: undefined,
      // No token: nothing expires.
      tokenExpiresAt: new Date(8.64e15),
    },
  };
}

export function isAnonymous(principal: Principal): boolean {
  return principal.clientId === ANONYMOUS_ACTOR.id;
}

/** The actor a principal writes as, in Welkin's form (`API_CLIENT:<name>`), or the anonymous actor. */
export function actorOf(principal: Principal): Actor {
  return isAnonymous(principal)
    ? ANONYMOUS_ACTOR
    : { id: principal.clientId, name: `API_CLIENT:${principal.clientName}` };
}

/** Who is writing, where, under which request: what the service layer's write path needs. */
export function writeContextOf(request: FastifyRequest): WriteContext {
  return { scope: scopeOf(request), actor: actorOf(principalOf(request)), requestId: request.id };
}
