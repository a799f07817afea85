// The face's WebSocket events: the realtime stream (src/modules/realtime) at `/api/v1/events/ws` and
// `/{tenant}/{instance}/api/v1/events/ws`, carrying only contact events, each with the contact in the face's
// field names as its `data`. Handed to the realtime plugin, which owns the sockets (src/app.ts).
import { InstanceParams } from '../../platform/http/params.ts';
import { EVENT_TYPES } from '../../modules/events/events.schemas.ts';
import type { StreamMount } from '../../modules/realtime/realtime.routes.ts';
import type { StreamView } from '../../modules/realtime/realtime.subscription.ts';
import { renderError } from './address-book.errors.ts';
import { eventPayload } from './address-book.mapping.ts';
import { errorResponses, tags } from './address-book.schemas.ts';

const view: StreamView = {
  types: EVENT_TYPES.filter((type) => type.startsWith('contact.')),
  payload: eventPayload,
};

const schema = {
  tags,
  summary: 'Contact events over WebSocket: contact.created, .updated, .deleted, .restored',
  description:
    "Kith's realtime protocol (docs/realtime.md): token in the Authorization header or as the first message, " +
    'subscribe by type and resource id, resume with lastEventId. Each event carries the contact in this ' +
    "API's field names as data (a deletion: {id, deleted, permanent, deleted_at}). Needs contacts:read. " +
    'A request without an Upgrade is answered 426.',
  response: errorResponses,
};

export const addressBookStreams: StreamMount[] = [
  { url: '/api/v1/events/ws', view, config: { scope: 'default-instance', renderError }, schema },
  {
    url: '/:tenant/:instance/api/v1/events/ws',
    view,
    config: { renderError },
    schema: { ...schema, params: InstanceParams },
  },
];
