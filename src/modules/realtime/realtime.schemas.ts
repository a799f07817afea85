// The stream's contract: the messages a client may send (validated here) and the messages Kith sends back.
// docs/realtime.md describes the protocol for client authors.
import type { RawData } from 'ws';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ErrorItemSchema, invalidFields, KithError } from '../../platform/errors.ts';
import { fieldPath } from '../../platform/http/error-handler.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { Event, EVENT_TYPES } from '../events/events.schemas.ts';

export const StreamParams = InstanceParams;

/** The largest message a client may send; anything bigger closes the socket with 1009. */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
export const MAX_RESOURCE_IDS = 100;

const SubscriptionId = Type.String({
  pattern: '^[A-Za-z0-9._:-]{1,64}$',
  description: 'Chosen by the client; every event sent for the subscription names it',
});

export const AuthMessage = Type.Object(
  { type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);

export const SubscribeMessage = Type.Object(
  {
    type: Type.Literal('subscribe'),
    id: SubscriptionId,
    types: Type.Optional(
      Type.Array(Type.String({ enum: [...EVENT_TYPES] }), {
        minItems: 1,
        maxItems: EVENT_TYPES.length,
        description: 'Event types wanted (default: every type the client may read)',
      }),
    ),
    resourceIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: MAX_RESOURCE_IDS,
        description: 'Only events of these resources (default: all)',
      }),
    ),
    lastEventId: Type.Optional(
      Type.Union([Type.String({ pattern: '^evt_[0-9a-f]{32}$' }), Type.Integer({ minimum: 0 })], {
        description: 'Resume after this event (its id, or its sequence number)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const UnsubscribeMessage = Type.Object(
  { type: Type.Literal('unsubscribe'), id: SubscriptionId },
  { additionalProperties: false },
);

export const PingMessage = Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false });

export type AuthMessage = Static<typeof AuthMessage>;
export type SubscribeMessage = Static<typeof SubscribeMessage>;
export type UnsubscribeMessage = Static<typeof UnsubscribeMessage>;
export type ClientMessage = AuthMessage | SubscribeMessage | UnsubscribeMessage | Static<typeof PingMessage>;

/** One validator per message type, chosen by `type` so errors name the fields of that message. */
const CLIENT_MESSAGES = {
  auth: Compile(AuthMessage),
  subscribe: Compile(SubscribeMessage),
  unsubscribe: Compile(UnsubscribeMessage),
  ping: Compile(PingMessage),
};
type ClientMessageType = keyof typeof CLIENT_MESSAGES;

/** The text of a message: a Buffer with ws's default binaryType; the other shapes are handled all the same. */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/** A validated client message, or the MALFORMED_REQUEST / VALIDATION_ERROR to answer it with. */
export function parseClientMessage(data: RawData, isBinary: boolean): ClientMessage | KithError {
  if (isBinary) return new KithError('MALFORMED_REQUEST', { message: 'Send JSON text messages' });
  let value: unknown;
  try {
    value = JSON.parse(textOf(data));
  } catch {
    return new KithError('MALFORMED_REQUEST', { message: 'Message is not valid JSON' });
  }
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !Object.hasOwn(CLIENT_MESSAGES, type)) {
    const known = Object.keys(CLIENT_MESSAGES).join(', ');
    return invalidFields([{ field: 'type', message: `must be one of ${known}` }]);
  }
  const validator = CLIENT_MESSAGES[type as ClientMessageType];
  if (validator.Check(value)) return value;
  return invalidFields(
    validator
      .Errors(value)
      .map((e) => ({ field: fieldPath(e.instancePath) || 'message', message: e.message })),
  );
}

// What Kith sends. Not validated at run time (Kith builds them); declared once for the docs, the tests and the hub.
export const ReadyMessage = Type.Object({
  type: Type.Literal('ready'),
  tenant: Type.String(),
  instance: Type.String(),
  sequence: Type.Integer({
    description: 'The latest sequence number of the instance when the stream opened',
  }),
  heartbeatSeconds: Type.Integer(),
  expiresAt: Type.String({
    format: 'date-time',
    description: 'When the token expires: send a fresh one before',
  }),
});
export const AuthenticatedMessage = Type.Object({
  type: Type.Literal('authenticated'),
  expiresAt: Type.String({ format: 'date-time' }),
});
export const SubscribedMessage = Type.Object({
  type: Type.Literal('subscribed'),
  subscription: Type.String(),
  types: Type.Array(Type.String()),
  resourceIds: Type.Union([Type.Array(Type.String()), Type.Null()]),
  sequence: Type.Integer({ description: 'Events after this sequence number follow' }),
});
export const EventMessage = Type.Object({
  type: Type.Literal('event'),
  subscription: Type.String(),
  event: Event,
});
export const HeartbeatMessage = Type.Object({
  type: Type.Literal('heartbeat'),
  sequence: Type.Integer({
    description: 'Live subscriptions have been sent every matching event up to here',
  }),
  at: Type.String({ format: 'date-time' }),
});
export const ErrorMessage = Type.Object({
  type: Type.Literal('error'),
  subscription: Type.Optional(Type.String()),
  errors: Type.Array(ErrorItemSchema, { description: 'Welkin-style error array, as HTTP answers carry' }),
});
export type ServerMessage =
  | Static<typeof ReadyMessage>
  | Static<typeof AuthenticatedMessage>
  | Static<typeof SubscribedMessage>
  | Static<typeof EventMessage>
  | Static<typeof HeartbeatMessage>
  | Static<typeof ErrorMessage>
  | { type: 'live'; subscription: string; sequence: number }
  | { type: 'unsubscribed'; subscription: string }
  | { type: 'pong' };

/** Close codes (4000–4999 are the application's own; see docs/realtime.md). */
export const CLOSE = {
  goingAway: 1001,
  internalError: 1011,
  slowConsumer: 4008,
  unauthenticated: 4401,
  forbidden: 4403,
  tooManyConnections: 4429,
} as const;
