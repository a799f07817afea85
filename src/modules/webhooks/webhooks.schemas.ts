// The webhook contracts, defined once: endpoints (create, patch, response), secret rotation, test sends, replay,
// and the tenant's delivery log (GET /{t}/admin/audit-webhook, Welkin's P3 page).
import { Type, type Static } from 'typebox';
import { EVENT_TYPES } from '../events/events.schemas.ts';
import { InstanceParams, TenantParams } from '../../platform/http/params.ts';
import { MetaInfoPageSchema, PageQuery } from '../../platform/http/pagination.ts';
import { Nullable, StringEnum } from '../../platform/http/schema-helpers.ts';

export const LIMITS = { url: 2048, description: 500, response: 4096 } as const;

const DateTime = Type.String({ format: 'date-time' });
const Url = Type.String({
  minLength: 1,
  maxLength: LIMITS.url,
  description:
    'http(s) URL the events are POSTed to. Loopback, private, link-local, CGNAT and metadata addresses are ' +
    'refused unless the operator allowlists them (KITH_WEBHOOK_ALLOWED_HOSTS)',
});
const EventTypes = Type.Array(StringEnum(EVENT_TYPES), {
  minItems: 1,
  maxItems: EVENT_TYPES.length,
  uniqueItems: true,
  description: 'Event types to deliver. Left out on create: every type the creating client may read',
});
const Description = Type.String({ maxLength: LIMITS.description });

export const WebhookCreateBody = Type.Object(
  { url: Url, eventTypes: Type.Optional(EventTypes), description: Type.Optional(Nullable(Description)) },
  { additionalProperties: false },
);

export const WebhookPatchBody = Type.Object(
  {
    url: Type.Optional(Url),
    eventTypes: Type.Optional(EventTypes),
    description: Type.Optional(Nullable(Description)),
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'false disables the endpoint; true re-enables a disabled one from the next event on (earlier ones: replay)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Webhook = Type.Object({
  id: Type.String({ description: 'wh_…' }),
  url: Url,
  description: Nullable(Description),
  eventTypes: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'Why the endpoint was disabled, while it is' })),
  disabledAt: Nullable(DateTime),
  failingSince: Nullable(
    Type.String({ format: 'date-time', description: 'Start of the current run of failed attempts' }),
  ),
  previousSecretExpiresAt: Nullable(
    Type.String({
      format: 'date-time',
      description: 'After a rotation, deliveries are also signed with the old secret until then',
    }),
  ),
  createdBy: Type.String(),
  createdAt: DateTime,
  updatedAt: DateTime,
});

const Secret = Type.String({ description: 'whsec_…: shown only in this response; store it now' });

export const WebhookCreated = Type.Object({ ...Webhook.properties, secret: Secret });

export const RotateQuery = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86_400,
        default: 86_400,
        description:
          'How long deliveries stay signed with the old secret too (0: stop at once, e.g. after a leak)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RotateResponse = Type.Object({
  secret: Secret,
  previousSecretExpiresAt: Nullable(DateTime),
});

export const WebhookParams = Type.Object({
  ...InstanceParams.properties,
  id: Type.String({ minLength: 1, maxLength: 64 }),
});

export const WebhookListQuery = Type.Object({ ...PageQuery.properties }, { additionalProperties: false });
export const WebhookListResponse = MetaInfoPageSchema(Webhook);

export const ATTEMPT_STATUSES = ['DELIVERED', 'FAILED'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** One attempt as the test route and the delivery log report it. */
export const AttemptResult = Type.Object({
  status: StringEnum(ATTEMPT_STATUSES),
  httpStatus: Nullable(Type.Integer()),
  durationMs: Type.Integer(),
  error: Nullable(Type.String()),
});

export const TestResponse = Type.Object({
  eventId: Type.String({ description: 'The webhook-id the test event was sent with' }),
  ...AttemptResult.properties,
});

export const ReplayBody = Type.Object(
  {
    eventId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Replay this one event' }),
    ),
    since: Type.Optional(
      Type.String({ format: 'date-time', description: 'Or replay every retained event from here…' }),
    ),
    until: Type.Optional(
      Type.String({ format: 'date-time', description: '…to here (exclusive; default now)' }),
    ),
  },
  { additionalProperties: false, description: 'Either eventId, or since (and optionally until)' },
);

export const ReplayResponse = Type.Object({
  queued: Type.Integer({ description: 'Deliveries queued; the dispatcher sends them in sequence order' }),
});

export const AuditWebhookQuery = Type.Object(
  {
    ...PageQuery.properties,
    instance: Type.Optional(Type.String({ maxLength: 63 })),
    status: Type.Optional(StringEnum(ATTEMPT_STATUSES)),
    endpointId: Type.Optional(Type.String({ maxLength: 64 })),
    eventId: Type.Optional(Type.String({ maxLength: 64 })),
    eventType: Type.Optional(Type.String({ maxLength: 64 })),
    dateStart: Type.Optional(DateTime),
    dateEnd: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const AuditWebhookItem = Type.Object({
  id: Type.String(),
  sentAt: DateTime,
  instance: Type.String(),
  status: StringEnum(ATTEMPT_STATUSES),
  statusCode: Nullable(Type.String({ description: "The HTTP status's name, e.g. INTERNAL_SERVER_ERROR" })),
  httpStatus: Nullable(Type.Integer()),
  response: Nullable(Type.String({ description: `The first ${LIMITS.response} bytes of the answer` })),
  error: Nullable(Type.String()),
  durationMs: Type.Integer(),
  attempt: Type.Integer({ description: '1 for the first attempt of a delivery' }),
  trigger: StringEnum(['outbox', 'replay', 'test'] as const),
  eventId: Type.String(),
  eventType: Type.String(),
  eventEntity: Type.String({ description: 'e.g. CONTACT' }),
  eventSubtype: Type.String({ description: 'e.g. CONTACT_CREATED' }),
  endpointId: Type.String(),
  url: Type.String(),
});

export const AuditWebhookResponse = MetaInfoPageSchema(AuditWebhookItem);
export const AuditWebhookParams = TenantParams;

export type Webhook = Static<typeof Webhook>;
export type WebhookCreate = Static<typeof WebhookCreateBody>;
export type WebhookPatch = Static<typeof WebhookPatchBody>;
export type AttemptResult = Static<typeof AttemptResult>;
export type Replay = Static<typeof ReplayBody>;
export type AuditWebhookQuery = Static<typeof AuditWebhookQuery>;
export type AuditWebhookItem = Static<typeof AuditWebhookItem>;
