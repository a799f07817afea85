// The change feed: what happened in an instance since a stored cursor, deletions included.
import { denied } from '../../platform/http/authorize.ts';
import { principalOf, scopeOf } from '../../platform/http/context.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import {
  ChangesParams,
  ChangesQuery,
  ChangesResponse,
  EVENT_TYPES,
  READ_PERMISSION,
  type EventType,
} from './events.schemas.ts';

export async function eventsRoutes(app: KithApp, { services }: { services: Services }) {
  app.get(
    '/:tenant/:instance/changes',
    {
      // Which events a client sees depends on what its policy lets it read (patients, contacts, companies).
      // The feed carries the records' contents: reading it is audited like a list.
      config: { permission: 'authenticated', audit: { action: 'list', resource: 'event' } },
      schema: {
        tags: ['events'],
        summary: 'The change feed: events after a cursor, in order, deletions included',
        description:
          'Events of the resources the client may read. Store nextCursor and pass it as since to continue; ' +
          'a cursor older than the retention period answers 410 CURSOR_EXPIRED (resynchronise).',
        params: ChangesParams,
        querystring: ChangesQuery,
        response: { 200: ChangesResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const readable = EVENT_TYPES.filter((t) =>
        principal.permissions.has(READ_PERMISSION[t.split('.')[0] as keyof typeof READ_PERMISSION]),
      );
      const wanted = (request.query.types ?? readable) as EventType[];
      if (readable.length === 0 || wanted.some((t) => !readable.includes(t)))
        throw denied(principal, request.url);
      return services.events.changes(scopeOf(request), {
        since: request.query.since,
        types: wanted,
        limit: request.query.limit ?? 100,
      });
    },
  );
}
