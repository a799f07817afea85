// The one place where access is decided. Runs before the body is read: the route's declared permission, the
// token, the tenant in the path, the instance in the path (must be granted to the client), then the policy.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../auth/authenticator.ts';
import type { Clock } from '../clock.ts';
import { KithError } from '../errors.ts';
import type { InstanceScope } from './context.ts';
import { sendError } from './error-handler.ts';

export function createAuthorizeHook(authenticator: Authenticator, clock: Clock) {
  const check = createCheck(authenticator);
  return async function authorize(request: FastifyRequest, reply: FastifyReply) {
    request.ctx = { requestId: request.id, log: request.log, principal: undefined, scope: undefined };
    try {
      await check(request);
    } catch (error) {
      if (!(error instanceof KithError)) throw error;
      // Answered here rather than thrown through the framework's error path, which costs more than the check:
      // a refusal must stay cheaper than a success.
      return sendError(request, reply, error, clock);
    }
    return undefined;
  };
}

function createCheck(authenticator: Authenticator) {
  return async function check(request: FastifyRequest): Promise<void> {
    const config = request.routeOptions.config;
    const permission = config.permission;
    if (permission === undefined || permission === 'public') return;

    const anonymous =
      request.headers.authorization === undefined && config.anonymous
        ? await config.anonymous(request)
        : undefined;
    if (anonymous) {
      request.ctx.principal = anonymous.principal;
      request.ctx.scope = anonymous.scope;
    } else {
      const principal = await authenticator.authenticate(request.headers.authorization);
      request.ctx.principal = principal;
      const { tenant, instance } = request.params as { tenant?: string; instance?: string };
      if (tenant !== undefined && tenant !== principal.tenantName) throw denied(principal, request.url);
      if (instance !== undefined) request.ctx.scope = instanceScope(principal, instance, request.url);
      else if (config.scope === 'default-instance') request.ctx.scope = defaultScope(principal, request.url);
    }
    const principal = request.ctx.principal;
    if (permission !== 'authenticated' && !principal.permissions.has(permission))
      throw denied(principal, request.url);
    if (principal.companies && !config.companyLimited) throw denied(principal, request.url);
  };
}

/** The principal's scope in one of its tenant's instances, or Welkin's 403 when the instance is not granted. */
export function instanceScope(principal: Principal, instance: string, url: string): InstanceScope {
  const granted = principal.instances.get(instance);
  if (granted === undefined) throw denied(principal, url);
  return {
    tenantId: principal.tenantId,
    tenant: principal.tenantName,
    instanceId: granted.id,
    instance,
    phoneRegion: granted.phoneRegion,
  };
}

/** The scope of the client's default instance: the first granted, unless an administrator chose another. */
export function defaultScope(principal: Principal, url: string): InstanceScope {
  const first = principal.instances.keys().next();
  if (first.done) throw denied(principal, url);
  return instanceScope(principal, first.value, url);
}

/** Welkin's 403, with the details its real server sends. */
export function denied(principal: Principal, url: string): KithError {
  return new KithError('ACCESS_FOR_API_CLIENT_RESTRICTED', {
    details: {
      clientId: principal.clientKey,
      clientName: principal.clientName,
      clientType: 'API_CLIENT',
      organizationName: principal.tenantName,
      requestURI: url.split('?', 1)[0],
    },
  });
}
