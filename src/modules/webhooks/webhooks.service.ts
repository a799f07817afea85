// Webhook endpoints of an instance: create (the secret is shown once), read, change, delete, rotate the secret,
// send a test event, replay events; and the tenant's delivery log. Delivery itself is the dispatcher's job.
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { fromJson, toBool, toIso, toJson } from '../../db/values.ts';
import type { Clock } from '../../platform/clock.ts';
import { invalidFields, KithError } from '../../platform/errors.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import type { PageRequest } from '../../platform/http/pagination.ts';
import type { WriteContext } from '../../platform/writes.ts';
import type { Event } from '../events/events.schemas.ts';
import {
  attemptOutcome,
  newId,
  pendingDelivery,
  signingSecrets,
  WebhookDispatcher,
} from './webhooks.dispatcher.ts';
import * as queue from './webhooks.queue.ts';
import * as repo from './webhooks.repository.ts';
import type {
  AttemptResult,
  AuditWebhookItem,
  AuditWebhookQuery,
  Replay,
  Webhook,
  WebhookCreate,
  WebhookPatch,
} from './webhooks.schemas.ts';
import { statusName, WebhookSender } from './webhooks.sender.ts';
import { newSecret } from './webhooks.signing.ts';

export interface WebhooksServiceDeps {
  database: Database;
  clock: Clock;
  sender: WebhookSender;
  dispatcher: WebhookDispatcher;
}

/** The deadline of one delivery attempt: connect, send, and the receiver's answer. */
export const SEND_TIMEOUT_MS = 10_000;

/** The webhooks service with its sender and dispatcher, as the composition root (services.ts) builds it. */
export function createWebhooks(deps: {
  database: Database;
  clock: Clock;
  config: Pick<Config, 'webhookAllowedHosts' | 'webhookPollMs' | 'eventRetentionDays'>;
}): WebhooksService {
  const { database, clock, config } = deps;
  const sender = new WebhookSender({
    clock,
    allowlist: config.webhookAllowedHosts,
    timeoutMs: SEND_TIMEOUT_MS,
  });
  const dispatcher = new WebhookDispatcher({
    database,
    clock,
    sender,
    options: { pollMs: config.webhookPollMs, retentionDays: config.eventRetentionDays },
  });
  return new WebhooksService({ database, clock, sender, dispatcher });
}

/** A replayed range may hold at most this many events; a larger one is refused (narrow it). */
export const MAX_REPLAY = 10_000;

// No id in the message: another tenant's endpoint and one that never existed answer byte-identically.
const notFound = () => new KithError('NOT_FOUND', { message: 'Webhook not found' });

function toWebhook(row: repo.EndpointRow): Webhook {
  const iso = (value: Date | string | null) => (value === null ? null : toIso(value));
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: fromJson<string[]>(row.event_types),
    enabled: toBool(row.enabled),
    disabledReason: row.disabled_reason,
    disabledAt: iso(row.disabled_at),
    failingSince: iso(row.failing_since),
    previousSecretExpiresAt: row.previous_secret === null ? null : iso(row.previous_secret_expires_at),
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

function toLogItem(row: Awaited<ReturnType<typeof repo.listAttempts>>[number]): AuditWebhookItem {
  const [entity = '', action = ''] = row.event_type.split('.');
  return {
    id: row.id,
    sentAt: toIso(row.attempted_at),
    instance: row.instance,
    status: row.status as AuditWebhookItem['status'],
    statusCode: statusName(row.http_status),
    httpStatus: row.http_status,
    response: row.response,
    error: row.error,
    durationMs: row.duration_ms,
    attempt: row.attempt,
    trigger: row.origin as AuditWebhookItem['trigger'],
    eventId: row.event_id,
    eventType: row.event_type,
    eventEntity: entity.toUpperCase(),
    eventSubtype: `${entity}_${action}`.toUpperCase(),
    endpointId: row.endpoint_id,
    url: row.url,
  };
}

export class WebhooksService {
  constructor(private readonly deps: WebhooksServiceDeps) {}

  /** Started and stopped by the server (`kith serve`); the tests run its passes with tick(). */
  get dispatcher(): WebhookDispatcher {
    return this.deps.dispatcher;
  }

  /** Refuses a URL that is not http(s), carries credentials, or names a forbidden address (400 on `url`). */
  private checkUrl(url: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidFields([{ field: 'url', message: 'is not a URL' }]);
    }
    const refusal = this.deps.sender.refusal(parsed.href);
    if (refusal !== undefined) throw invalidFields([{ field: 'url', message: refusal }]);
    return parsed.href;
  }

  private async find(scope: InstanceScope, id: string): Promise<repo.EndpointRow> {
    const row = await repo.findEndpoint(scope, this.deps.database.db, id);
    if (!row) throw notFound();
    return row;
  }

  /** `eventTypes` has been checked against what the client may read (the route does that). */
  async create(
    ctx: WriteContext,
    input: Omit<WebhookCreate, 'eventTypes'> & { eventTypes: readonly string[] },
  ): Promise<Webhook & { secret: string }> {
    const { database, clock, dispatcher } = this.deps;
    const url = this.checkUrl(input.url);
    const now = clock.now().toISOString();
    const secret = newSecret();
    const row = {
      id: newId('wh'),
      url,
      description: input.description ?? null,
      event_types: toJson(input.eventTypes),
      secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      enabled: database.bool(true),
      disabled_reason: null,
      disabled_at: null,
      failing_since: null,
      // Events from now on: the endpoint starts after the instance's latest committed event.
      cursor_seq: await repo.lastSequence(ctx.scope, database.db),
      created_by: ctx.actor.id,
      created_at: now,
      updated_at: now,
    };
    await repo.insertEndpoint(ctx.scope, database.db, row);
    dispatcher.watch(ctx.scope.instanceId);
    return {
      ...toWebhook({ ...row, tenant_id: ctx.scope.tenantId, instance_id: ctx.scope.instanceId }),
      secret,
    };
  }

  async get(scope: InstanceScope, id: string): Promise<Webhook> {
    return toWebhook(await this.find(scope, id));
  }

  async list(scope: InstanceScope, page: PageRequest): Promise<{ items: Webhook[]; total: number }> {
    const { db } = this.deps.database;
    const [rows, total] = await Promise.all([
      repo.listEndpoints(scope, db, page),
      repo.countEndpoints(scope, db),
    ]);
    return { items: rows.map(toWebhook), total };
  }

  /**
   * Changes some fields. Disabling cancels the queue; enabling starts again from the instance's latest event
   * (what happened while disabled can be replayed) and forgets the failure history.
   */
  async update(
    ctx: WriteContext,
    id: string,
    patch: Omit<WebhookPatch, 'eventTypes'> & { eventTypes?: readonly string[] },
  ): Promise<Webhook> {
    const { database, clock, dispatcher } = this.deps;
    const url = patch.url === undefined ? undefined : this.checkUrl(patch.url);
    const now = clock.now().toISOString();
    const row = await database.db.transaction().execute(async (tx) => {
      const current = await repo.findEndpoint(ctx.scope, tx, id);
      if (!current) throw notFound();
      const values: repo.EndpointValues = { updated_at: now };
      if (url !== undefined) values.url = url;
      if (patch.eventTypes !== undefined) values.event_types = toJson(patch.eventTypes);
      if (patch.description !== undefined) values.description = patch.description;
      const enabled = toBool(current.enabled);
      if (patch.enabled === false && enabled) {
        Object.assign(values, {
          enabled: database.bool(false),
          disabled_reason: `Disabled by ${ctx.actor.name}`,
          disabled_at: now,
        });
        await queue.cancelPending(tx, id, now);
      }
      if (patch.enabled === true && !enabled) {
        Object.assign(values, {
          enabled: database.bool(true),
          disabled_reason: null,
          disabled_at: null,
          failing_since: null,
          cursor_seq: await repo.lastSequence(ctx.scope, tx),
        });
      }
      await repo.updateEndpoint(ctx.scope, tx, id, values);
      return (await repo.findEndpoint(ctx.scope, tx, id))!;
    });
    if (toBool(row.enabled)) dispatcher.watch(ctx.scope.instanceId);
    return toWebhook(row);
  }

  async remove(scope: InstanceScope, id: string): Promise<void> {
    const deleted = await this.deps.database.db
      .transaction()
      .execute((tx) => repo.deleteEndpoint(scope, tx, id));
    if (!deleted) throw notFound();
  }

  /**
   * A new secret, shown once. For `graceSeconds` deliveries carry a second signature made with the old secret,
   * so receivers can switch without losing a delivery; 0 drops the old secret at once.
   */
  async rotateSecret(
    scope: InstanceScope,
    id: string,
    graceSeconds: number,
  ): Promise<{ secret: string; previousSecretExpiresAt: string | null }> {
    const { database, clock } = this.deps;
    const current = await this.find(scope, id);
    const now = clock.now();
    const secret = newSecret();
    const expires = graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000).toISOString() : null;
    await repo.updateEndpoint(scope, database.db, id, {
      secret,
      previous_secret: expires === null ? null : current.secret,
      previous_secret_expires_at: expires,
      updated_at: now.toISOString(),
    });
    return { secret, previousSecretExpiresAt: expires };
  }

  /**
   * Sends a `webhook.test` event now, whatever the endpoint's filter or state, and logs the attempt. It changes
   * nothing else: a failed test neither retries nor counts towards disabling the endpoint.
   */
  async sendTest(ctx: WriteContext, id: string): Promise<AttemptResult & { eventId: string }> {
    const { database, clock, sender } = this.deps;
    const endpoint = await this.find(ctx.scope, id);
    const now = clock.now().toISOString();
    const event: Event = {
      id: newId('evt'),
      type: 'webhook.test',
      sequence: 0,
      occurredAt: now,
      tenant: ctx.scope.tenant,
      instance: ctx.scope.instance,
      resourceType: 'webhook',
      resourceId: endpoint.id,
      actor: ctx.actor,
      requestId: ctx.requestId,
      data: { webhookId: endpoint.id, message: 'A test event sent on request' },
    };
    const secrets = signingSecrets(endpoint, now);
    const result = await sender.send({ url: endpoint.url, secrets }, event.id, JSON.stringify(event));
    await repo.insertAttempts(database.db, [
      {
        id: newId('wha'),
        tenant_id: ctx.scope.tenantId,
        instance_id: ctx.scope.instanceId,
        endpoint_id: endpoint.id,
        url: endpoint.url,
        delivery_id: null,
        event_id: event.id,
        event_type: event.type,
        origin: 'test',
        attempt: 1,
        ...attemptOutcome(result),
      },
    ]);
    const { status, httpStatus, durationMs, error } = result;
    return { eventId: event.id, status, httpStatus, durationMs, error };
  }

  /**
   * Queues events again for one endpoint: one event by id, or every retained event of a time range that the
   * endpoint's filter takes. They are delivered like any other (in sequence order per resource, with retries).
   */
  async replay(scope: InstanceScope, id: string, request: Replay): Promise<{ queued: number }> {
    const { database, clock, dispatcher } = this.deps;
    const hasRange = request.since !== undefined || request.until !== undefined;
    if ((request.eventId === undefined) === !hasRange || (hasRange && request.since === undefined)) {
      throw invalidFields([
        { field: 'eventId', message: 'or since (with an optional until) is required, not both' },
      ]);
    }
    const endpoint = await this.find(scope, id);
    if (!toBool(endpoint.enabled)) {
      throw new KithError('CONFLICT', { message: 'The webhook is disabled; enable it before replaying' });
    }
    const types = fromJson<string[]>(endpoint.event_types);
    const now = clock.now().toISOString();
    let events: repo.EventRef[];
    if (request.eventId !== undefined) {
      const event = await repo.findEvent(scope, database.db, request.eventId);
      if (!event) throw new KithError('NOT_FOUND', { message: 'Event not found (or past retention)' });
      if (!types.includes(event.type)) {
        throw new KithError('CONFLICT', { message: `The webhook does not take ${event.type} events` });
      }
      events = [event];
    } else {
      const since = toIso(request.since!);
      const until = request.until === undefined ? now : toIso(request.until);
      if (until <= since) throw invalidFields([{ field: 'until', message: 'must be after since' }]);
      events = await repo.eventsBetween(scope, database.db, { since, until, types, limit: MAX_REPLAY + 1 });
      if (events.length > MAX_REPLAY) {
        throw invalidFields([
          { field: 'since', message: `the range holds over ${MAX_REPLAY} events; narrow it` },
        ]);
      }
    }
    const rows = events.map((event) =>
      pendingDelivery({ id: endpoint.id, instance_id: scope.instanceId }, event, 'replay', now),
    );
    await database.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += 500) await queue.insertDeliveries(tx, rows.slice(i, i + 500));
    });
    dispatcher.wake();
    return { queued: rows.length };
  }

  /** The tenant's delivery log, newest first, limited to the instances the caller may use. */
  async deliveryLog(
    scope: repo.TenantScope,
    query: Omit<AuditWebhookQuery, 'page' | 'size' | 'instance'>,
    page: PageRequest,
  ): Promise<{ items: AuditWebhookItem[]; total: number }> {
    const { db } = this.deps.database;
    if (scope.instanceIds.length === 0) return { items: [], total: 0 };
    const filter: repo.AttemptFilter = {
      ...query,
      instanceIds: scope.instanceIds,
      dateStart: query.dateStart === undefined ? undefined : toIso(query.dateStart),
      dateEnd: query.dateEnd === undefined ? undefined : toIso(query.dateEnd),
    };
    const [rows, total] = await Promise.all([
      repo.listAttempts(scope, db, filter, page),
      repo.countAttempts(scope, db, filter),
    ]);
    return { items: rows.map(toLogItem), total };
  }
}
