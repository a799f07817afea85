// buildApp: the HTTP application, used by `kith serve` and by the tests alike.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyRequest, type RouteOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ErrorBodySchema, ErrorItemSchema, KithError } from './platform/errors.ts';
import { createAuthorizeHook } from './platform/http/authorize.ts';
import { createErrorHandler } from './platform/http/error-handler.ts';
import { createIdempotency } from './platform/http/idempotency.ts';
import type { KithApp } from './platform/http/types.ts';
import type { RoutePermission } from './platform/auth/policies.ts';
import type { Services } from './services.ts';
import { authRoutes } from './platform/auth/auth.routes.ts';
import { healthRoutes } from './modules/health/health.routes.ts';
import { tenantsRoutes } from './modules/tenants/tenants.routes.ts';
import { patientsRoutes } from './modules/patients/patients.routes.ts';
import { companiesRoutes } from './modules/companies/companies.routes.ts';
import { contactsRoutes } from './modules/contacts/contacts.routes.ts';
import { patientContactsRoutes } from './modules/contacts/patient-contacts.routes.ts';
import { eventsRoutes } from './modules/events/events.routes.ts';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.ts';
import { installAudit } from './modules/audit/audit.hooks.ts';
import { auditRoutes } from './modules/audit/audit.routes.ts';
import { realtimeRoutes } from './modules/realtime/realtime.routes.ts';
import { openApiOptions, describePermission } from './platform/http/openapi.ts';
import { companyContactsRoutes } from './faces/company-contacts/company-contacts.routes.ts';
import { addressBookRoutes } from './faces/address-book/address-book.routes.ts';
import { addressBookStreams } from './faces/address-book/address-book.stream.ts';

export interface RouteInfo {
  method: string;
  url: string;
  permission: RoutePermission;
  documented: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, with the permission it declares (read by the route-walking tests). */
    kithRoutes: RouteInfo[];
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id when it is sane, else a new one. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export interface AppOptions {
  /** Where JSON log lines go (stdout by default); the tests read them from here. */
  logStream?: NodeJS.WritableStream;
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<KithApp> {
  const { config, clock } = services;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Fastify's request serializer logs no headers or bodies; this guards against a future change to that.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    genReqId: requestId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    ajv: {
      customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('ctx', null as unknown as FastifyRequest['ctx']);
  app.decorate('kithRoutes', [] as RouteInfo[]);
  app.addSchema(ErrorItemSchema);
  app.addSchema(ErrorBodySchema);

  app.addHook('onRoute', (route: RouteOptions) => registerRoute(app, route));
  app.addHook('onRequest', createAuthorizeHook(services.authenticator, clock));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!request.url.startsWith('/docs')) reply.header('cache-control', 'no-store');
  });
  const idempotency = createIdempotency(services.database, clock);
  app.decorateRequest('idempotencyKey', undefined);
  app.addHook('preHandler', idempotency.preHandler);
  app.addHook('onSend', idempotency.onSend);
  installAudit(app, services.audit, clock);
  app.setErrorHandler(createErrorHandler(clock));
  app.setNotFoundHandler((request) => {
    throw new KithError('ROUTE_NOT_FOUND', {
      message: `No route ${request.method} ${request.url.split('?', 1)[0]}`,
    });
  });
  // Only JSON is accepted; anything else is a 415.
  app.removeContentTypeParser('text/plain');

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      exposedHeaders: [
        'x-request-id',
        'etag',
        'retry-after',
        'ratelimit-limit',
        'ratelimit-remaining',
        'ratelimit-reset',
      ],
    });
  }
  await app.register(swagger, openApiOptions());
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { services });
  await app.register(authRoutes, { services });
  await app.register(tenantsRoutes, { services });
  await app.register(patientsRoutes, { services });
  await app.register(companiesRoutes, { services });
  await app.register(contactsRoutes, { services });
  await app.register(patientContactsRoutes, { services });
  await app.register(eventsRoutes, { services });
  await app.register(webhooksRoutes, { services });
  await app.register(auditRoutes, { services });
  // The faces' streams are served by the realtime plugin, which owns the WebSocket machinery.
  await app.register(realtimeRoutes, { services, streams: addressBookStreams });
  // The compatibility faces: other APIs' wire formats over the same contact service.
  await app.register(companyContactsRoutes, { services });
  await app.register(addressBookRoutes, { services });
  app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  return app;
}

/**
 * Checks and records each route as it is added: a route without a declared permission stops start-up, and every
 * documented route gets the shared error responses and its security requirement in the OpenAPI document.
 */
function registerRoute(app: KithApp, route: RouteOptions): void {
  // Routes added by plugins (the reference page, CORS preflight) are public and not part of the API document.
  const isPluginRoute =
    route.url === '/docs' ||
    route.url.startsWith('/docs/') ||
    (route.method === 'OPTIONS' && route.url === '*');
  if (isPluginRoute) route.config = { ...route.config, permission: 'public' };
  const permission = route.config?.permission;
  if (permission === undefined) {
    throw new Error(`Route ${String(route.method)} ${route.url} declares no permission`);
  }
  const schema = (route.schema ??= {}) as Record<string, unknown> & { hide?: boolean };
  const documented = schema.hide !== true && !isPluginRoute;
  // Fastify's automatic HEAD route shares its GET route's schema object: decorate that object once.
  if (documented && route.method !== 'HEAD') {
    const response = (schema.response ??= {}) as Record<string, unknown>;
    response['4xx'] ??= { $ref: 'KithError#' };
    response['5xx'] ??= { $ref: 'KithError#' };
    schema.description = [schema.description, describePermission(permission)].filter(Boolean).join('\n\n');
    // A route that admits anonymous callers where allowed (public contact intake) takes a token optionally.
    if (permission !== 'public')
      schema.security = route.config?.anonymous ? [{ bearerAuth: [] }, {}] : [{ bearerAuth: [] }];
  }
  for (const method of [route.method].flat()) {
    app.kithRoutes.push({ method, url: route.url, permission, documented });
  }
}
