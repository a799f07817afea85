// GET /:tenant/:instance/events/ws — the realtime stream. A token in the Authorization header goes through the
// access hook like any request, so a refusal is the same 401/403 before the upgrade. A browser cannot set that
// header: an upgrade without it is routed (by a route constraint) to a twin route that upgrades first and expects
// the token in the first message. The protocol: docs/realtime.md.
import websocket from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { createEventNotifier } from '../../db/notify.ts';
import { KithError } from '../../platform/errors.ts';
import { principalOf, scopeOf } from '../../platform/http/context.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { requireReadable, type StreamTarget } from './realtime.access.ts';
import { RealtimeHub } from './realtime.hub.ts';
import { MAX_CLIENT_MESSAGE_BYTES, StreamParams } from './realtime.schemas.ts';

const PATH = '/:tenant/:instance/events/ws';
const tags = ['events'];

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

function targetOf(request: FastifyRequest): StreamTarget {
  const { tenant, instance } = request.params as { tenant: string; instance: string };
  return { tenant, instance, url: request.url.split('?', 1)[0]! };
}

/**
 * A refused upgrade has had its HTTP answer written to the raw socket, which Node no longer manages after an
 * upgrade request: end it, or a client that never hangs up would keep it open.
 */
async function endRefusedUpgrade(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.raw.headers.upgrade !== undefined) request.raw.socket.end();
}

export async function realtimeRoutes(app: KithApp, { services }: { services: Services }) {
  const { config } = services;
  const hub = new RealtimeHub({
    database: services.database,
    events: services.events,
    authenticator: services.authenticator,
    clock: services.clock,
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

  app.route({
    method: 'GET',
    url: PATH,
    config: { permission: 'authenticated' },
    schema: {
      tags,
      summary: 'The realtime event stream (WebSocket)',
      description:
        'Upgrade to a WebSocket with the token in the Authorization header (or, from a browser, without it and ' +
        'with `{"type":"auth","token":…}` as the first message). Subscribe by event type and resource id, resume ' +
        'with lastEventId; events are those of the change feed, for the resources the client may read. ' +
        'Protocol: docs/realtime.md. A request without an Upgrade is answered 426.',
      params: StreamParams,
    },
    onResponse: endRefusedUpgrade,
    // Before the upgrade, so a client that may read nothing gets the change feed's HTTP 403.
    preHandler: async (request) =>
      requireReadable({ principal: principalOf(request) }, targetOf(request).url),
    handler: async () => {
      throw new KithError('UPGRADE_REQUIRED', { headers: { upgrade: 'websocket' } });
    },
    wsHandler: (socket, request) => {
      const authorization = request.headers.authorization!;
      const access = { principal: principalOf(request), scope: scopeOf(request), authorization };
      hub.accept(socket, targetOf(request), access, request.log);
    },
  });

  app.route({
    method: 'GET',
    url: PATH,
    constraints: { [tokenPlacement.name]: 'first-message' },
    // Public only until the first message: the socket is refused unless that message carries a token that the
    // access hook would have accepted for this tenant and instance.
    config: { permission: 'public' },
    schema: { hide: true, params: StreamParams },
    onResponse: endRefusedUpgrade,
    websocket: true,
    handler: (socket, request) => hub.acceptUnauthenticated(socket, targetOf(request), request.log),
  });
}
