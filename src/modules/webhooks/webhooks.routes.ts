// /:tenant/:instance/webhooks — endpoints that receive the instance's events, signed per Standard Webhooks — and
// the tenant's delivery log at /:tenant/admin/audit-webhook.
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { denied } from '../../platform/http/authorize.ts';
import { principalOf, scopeOf, writeContextOf } from '../../platform/http/context.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { metaInfoPage } from '../../platform/http/pagination.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { EVENT_TYPES, READ_PERMISSION } from '../events/events.schemas.ts';
import {
  AuditWebhookParams,
  AuditWebhookQuery,
  AuditWebhookResponse,
  ReplayBody,
  ReplayResponse,
  RotateQuery,
  RotateResponse,
  TestResponse,
  Webhook,
  WebhookCreateBody,
  WebhookCreated,
  WebhookListQuery,
  WebhookListResponse,
  WebhookParams,
  WebhookPatchBody,
} from './webhooks.schemas.ts';

const tags = ['webhooks'];

/**
 * The event types the caller may subscribe to: those of the resources its policy lets it read, so a webhook can
 * never carry more than its creator could fetch. Asking for any other type is a 403.
 */
function allowedTypes(request: FastifyRequest, wanted: readonly string[] | undefined): string[] {
  const principal = principalOf(request);
  const readable: string[] = EVENT_TYPES.filter((t) =>
    principal.permissions.has(READ_PERMISSION[t.split('.')[0] as keyof typeof READ_PERMISSION]),
  );
  if (readable.length === 0 || (wanted ?? []).some((t) => !readable.includes(t)))
    throw denied(principal, request.url);
  return wanted === undefined ? readable : [...wanted];
}

export async function webhooksRoutes(app: KithApp, { services }: { services: Services }) {
  const { webhooks } = services;

  app.post(
    '/:tenant/:instance/webhooks',
    {
      config: { permission: 'webhooks:create' },
      schema: {
        tags,
        summary: 'Register a webhook endpoint',
        description:
          "The response holds the signing secret, once. Deliveries start with the instance's next event.",
        params: InstanceParams,
        body: WebhookCreateBody,
        response: { 201: WebhookCreated },
      },
    },
    async (request, reply) => {
      const eventTypes = allowedTypes(request, request.body.eventTypes);
      const created = await webhooks.create(writeContextOf(request), { ...request.body, eventTypes });
      const { tenant, instance } = request.params;
      reply.header('location', `/${tenant}/${instance}/webhooks/${created.id}`);
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/:tenant/:instance/webhooks',
    {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: "List the instance's webhook endpoints",
        params: InstanceParams,
        querystring: WebhookListQuery,
        response: { 200: WebhookListResponse },
      },
    },
    async (request) => {
      const { items, total } = await webhooks.list(scopeOf(request), request.query);
      return metaInfoPage(items, request.query, total);
    },
  );

  app.get(
    '/:tenant/:instance/webhooks/:id',
    {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: 'Get a webhook endpoint',
        description: 'A disabled endpoint says why in disabledReason.',
        params: WebhookParams,
        response: { 200: Webhook },
      },
    },
    async (request) => webhooks.get(scopeOf(request), request.params.id),
  );

  app.patch(
    '/:tenant/:instance/webhooks/:id',
    {
      config: { permission: 'webhooks:update' },
      schema: {
        tags,
        summary: 'Change a webhook endpoint',
        description:
          'Fields left out are kept. enabled:false cancels pending deliveries; enabled:true starts again from ' +
          'the next event (replay what was missed).',
        params: WebhookParams,
        body: WebhookPatchBody,
        response: { 200: Webhook },
      },
    },
    async (request) => {
      const { eventTypes } = request.body;
      const patch =
        eventTypes === undefined
          ? request.body
          : { ...request.body, eventTypes: allowedTypes(request, eventTypes) };
      return webhooks.update(writeContextOf(request), request.params.id, patch);
    },
  );

  app.delete(
    '/:tenant/:instance/webhooks/:id',
    {
      config: { permission: 'webhooks:delete' },
      schema: {
        tags,
        summary: 'Delete a webhook endpoint',
        description: 'Pending deliveries are dropped; the delivery log keeps its attempts.',
        params: WebhookParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await webhooks.remove(scopeOf(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:tenant/:instance/webhooks/:id/rotate-secret',
    {
      config: { permission: 'webhooks:update' },
      schema: {
        tags,
        summary: 'Replace the signing secret',
        description:
          'Returns the new secret, once. Until previousSecretExpiresAt (graceSeconds, default 24 hours) ' +
          'deliveries carry two signatures, one per secret, so receivers can switch without a gap.',
        params: WebhookParams,
        querystring: RotateQuery,
        response: { 200: RotateResponse },
      },
    },
    async (request) =>
      webhooks.rotateSecret(scopeOf(request), request.params.id, request.query.graceSeconds ?? 86_400),
  );

  app.post(
    '/:tenant/:instance/webhooks/:id/test',
    {
      config: { permission: 'webhooks:update' },
      schema: {
        tags,
        summary: 'Send a webhook.test event now and report the outcome',
        description: 'Sent whatever the filter or state; logged, never retried, never disables the endpoint.',
        params: WebhookParams,
        response: { 200: TestResponse },
      },
    },
    async (request) => webhooks.sendTest(writeContextOf(request), request.params.id),
  );

  app.post(
    '/:tenant/:instance/webhooks/:id/replay',
    {
      config: { permission: 'webhooks:update' },
      schema: {
        tags,
        summary: 'Deliver one event, or every event of a time range, again to this endpoint',
        description: `Only retained events the endpoint's filter takes; at most 10000 per request.`,
        params: WebhookParams,
        body: ReplayBody,
        response: { 202: ReplayResponse },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await webhooks.replay(scopeOf(request), request.params.id, request.body)),
  );

  app.get(
    '/:tenant/admin/audit-webhook',
    {
      config: { permission: 'webhooks:read' },
      schema: {
        tags,
        summary: 'The delivery log: every attempt, newest first',
        description:
          'Attempts in the instances granted to the client; filter by instance, status, endpoint, …',
        params: AuditWebhookParams,
        querystring: AuditWebhookQuery,
        response: { 200: AuditWebhookResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { page, size, instance, ...filter } = request.query;
      let instanceIds = [...principal.instances.values()].map((i) => i.id);
      if (instance !== undefined) {
        const granted = principal.instances.get(instance);
        if (!granted) throw denied(principal, request.url);
        instanceIds = [granted.id];
      }
      const scope = { tenantId: principal.tenantId, instanceIds };
      const { items, total } = await webhooks.deliveryLog(scope, filter, { page, size });
      return metaInfoPage(items, { page, size }, total);
    },
  );
}
