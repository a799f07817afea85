import { Type, type Static } from 'typebox';
import type { Permission } from '../../platform/auth/policies.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { Nullable } from '../../platform/http/schema-helpers.ts';

export const RESOURCE_TYPES = ['patient', 'contact', 'company'] as const;
/** The policy resource that lets a client read each resource type (and so see its events). */
export const READ_PERMISSION = {
  patient: 'patients:read',
  contact: 'contacts:read',
  company: 'companies:read',
} as const satisfies Record<(typeof RESOURCE_TYPES)[number], Permission>;
export const EVENT_ACTIONS = ['created', 'updated', 'deleted', 'restored'] as const;
export const EVENT_TYPES = RESOURCE_TYPES.flatMap((r) => EVENT_ACTIONS.map((a) => `${r}.${a}` as const));
export type EventType = (typeof EVENT_TYPES)[number];

export const Event = Type.Object({
  id: Type.String({ description: 'evt_…' }),
  type: Type.String({ description: 'resource.action, e.g. contact.created' }),
  sequence: Type.Integer({ description: 'Per instance, increasing, without gaps' }),
  occurredAt: Type.String({ format: 'date-time' }),
  tenant: Type.String(),
  instance: Type.String(),
  resourceType: Type.String(),
  resourceId: Type.String(),
  actor: Type.Object({ id: Type.String(), name: Type.String() }),
  requestId: Nullable(Type.String()),
  data: Type.Unknown({ description: 'The resource after the change; a tombstone for deletions' }),
});
export type Event = Static<typeof Event>;

export const ChangesQuery = Type.Object({
  since: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of an earlier answer' })),
  types: Type.Optional(
    Type.Array(Type.String({ enum: [...EVENT_TYPES] }), {
      maxItems: EVENT_TYPES.length,
      description: 'Repeat or comma-separate',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

export const ChangesResponse = Type.Object({
  data: Type.Array(Event),
  nextCursor: Type.String({ description: 'Store it; pass it as since to continue from here' }),
  hasMore: Type.Boolean(),
});

export const ChangesParams = InstanceParams;
