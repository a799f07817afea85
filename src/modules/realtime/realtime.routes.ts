// GET /:tenant/:instance/events/ws — the realtime stream. A token in the Authorization header goes through the
// access hook like any request, so a refusal is the same 401/403 before the upgrade. A browser cannot set that
// header: an upgrade without it is routed (by a route constraint) to a twin route that upgrades first and expects
// the token in the first message. The protocol: docs/realtime.md. A compatibility face serves the same stream at
// its own paths through a view (its event types, its field names): `streams` in the plugin's options.
import websocket from '@fastify/websocket';
import type { FastifyContextConfig, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { createEventNotifier } from '../../db/notify.ts';
import { KithError } from '../../platform/errors.ts';
import { principalOf, scopeOf } from '../../platform/http/context.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { requireReadable, type StreamTarget } from './realtime.access.ts';
import { RealtimeHub } from './realtime.hub.ts';
import { MAX_CLIENT_MESSAGE_BYTES, StreamParams } from './realtime.schemas.ts';
import { FEED_VIEW, type StreamView } from './realtime.subscription.ts';

/** One path serving the stream (with its browser twin), and what the stream shows there. */
export interface StreamMount {
  url: string;
  view: StreamView;
  /** A face's route settings: its bare path's default instance, its error shape. */
  config?: Pick<FastifyContextConfig, 'scope' | 'renderError'>;
  /** Tags, summary, description and params of the documented route (a face adds its error responses). */
  schema: FastifySchema & { tags: string[] };
}

const FEED_STREAM: StreamMount = {
  url: '/:tenant/:instance/events/ws',
  view: FEED_VIEW,
  schema: {
    tags: ['events'],
    summary: 'The realtime event stream (WebSocket)',
    description:
      'Upgrade to a WebSocket with the token in the Authorization header (or, from a browser, without it and ' +
      'with `{"type":"auth","token":…}` as the first message). Subscribe by event type and resource id, resume ' +
      'with lastEventId; events are those of the change feed, for the resources the client may read. ' +
      'Protocol: docs/realtime.md. A request without an Upgrade is answered 426.',
    params: StreamParams,
  },
};

/** Routes an upgrade request that carries no Authorization header to the first-message twin route. */
const tokenPlacement = {
  name: 'kithStreamToken',
  storage() {
    const handlers = new Map<unknown, unknown>();
    return {
      get: (value: unknown) => (handlers.get(value) ?? null) as never,
      set: (value: unknown, handler: unknown) => void handlers.set(value, handler),
    };
  },
  deriveConstraint: (req: IncomingMessage) =>
    req.headers.upgrade !== undefined && req.headers.authorization === undefined
      ? 'first-message'
      : undefined,
  mustMatchWhenDerived: false,
};

/** The path's tenant and instance; on a bare path, the default instance the access hook chose (if it ran). */
function targetOf(request: FastifyRequest): StreamTarget {
  const { tenant, instance } = request.params as { tenant?: string; instance?: string };
  const scope = request.ctx.scope;
  return {
    tenant: tenant ?? scope?.tenant,
    instance: instance ?? scope?.instance,
    url: request.url.split('?', 1)[0]!,
    origin: {
      method: request.method,
      route: request.routeOptions.url ?? null,
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null,
      requestId: request.id,
    },
  };
}

/**
 * A refused upgrade has had its HTTP answer written to the raw socket, which Node no longer manages after an
 * upgrade request: end it, or a client that never hangs up would keep it open.
 */
async function endRefusedUpgrade(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.raw.headers.upgrade !== undefined) request.raw.socket.end();
}

export async function realtimeRoutes(
  app: KithApp,
  { services, streams = [] }: { services: Services; streams?: readonly StreamMount[] },
) {
  const { config } = services;
  const hub = new RealtimeHub({
    database: services.database,
    events: services.events,
    authenticator: services.authenticator,
    clock: services.clock,
    audit: services.audit,
    notifier: createEventNotifier(services.database, config.databaseUrl),
    log: app.log,
    limits: {
      heartbeatMs: config.wsHeartbeatSeconds * 1000,
      authTimeoutMs: config.wsAuthTimeoutSeconds * 1000,
      maxConnectionsPerClient: config.wsMaxConnectionsPerClient,
      maxSubscriptions: config.wsMaxSubscriptions,
      maxBufferedBytes: config.wsMaxBufferedBytes,
    },
  });
  services.writes.onCommit(hub.onCommit);
  app.addHook('onReady', async () => hub.start());

  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES },
    // Instead of the plugin's own (which closes sockets without a code): 1001, then a short grace, then cut.
    preClose: async () => hub.stop(),
    // A client vanishing mid-frame is routine, not an error of ours.
    errorHandler: (error, socket, request) => {
      request.log.info({ err: error }, 'realtime: socket error');
      socket.terminate();
    },
  });
  app.addConstraintStrategy(tokenPlacement);

  for (const stream of [FEED_STREAM, ...streams]) mountStream(app, hub, stream);
}

function mountStream(app: KithApp, hub: RealtimeHub, { url, view, config, schema }: StreamMount): void {
  app.route({
    method: 'GET',
    url,
    config: { ...config, permission: 'authenticated' },
    schema,
    onResponse: endRefusedUpgrade,
    // Before the upgrade, so a client that may read nothing gets the change feed's HTTP 403.
    preHandler: async (request) =>
      requireReadable({ principal: principalOf(request) }, targetOf(request).url, view),
    handler: async () => {
      throw new KithError('UPGRADE_REQUIRED', { headers: { upgrade: 'websocket' } });
    },
    wsHandler: (socket, request) => {
      const authorization = request.headers.authorization!;
      const access = { principal: principalOf(request), scope: scopeOf(request), authorization };
      hub.accept(socket, targetOf(request), access, request.log, view);
    },
  });

  app.route({
    method: 'GET',
    url,
    constraints: { [tokenPlacement.name]: 'first-message' },
    // Public only until the first message: the socket is refused unless that message carries a token that the
    // access hook would have accepted for this tenant and instance.
    config: { ...config, permission: 'public' },
    schema: { hide: true, ...(schema.params ? { params: schema.params } : {}) },
    onResponse: endRefusedUpgrade,
    websocket: true,
    handler: (socket, request) => hub.acceptUnauthenticated(socket, targetOf(request), request.log, view),
  });
}
