// Who may hold a stream, decided as the HTTP routes decide it. A socket opened with an Authorization header has
// already passed the access hook (src/platform/http/authorize.ts) before the upgrade; these functions serve the
// other paths: a token sent in the first message, a refreshed token, and the periodic re-check of open sockets.
import type { Authenticator, Principal } from '../../platform/auth/authenticator.ts';
import { defaultScope, denied, instanceScope } from '../../platform/http/authorize.ts';
import type { StreamOrigin } from './realtime.audit.ts';
import type { InstanceScope } from '../../platform/http/context.ts';
import { READ_PERMISSION, type EventType } from '../events/events.schemas.ts';
import { FEED_VIEW, type StreamView } from './realtime.subscription.ts';

export interface Access {
  principal: Principal;
  scope: InstanceScope;
  /** Kept to re-check the token while the socket lives (expiry, disabled client, changed policy). */
  authorization: string;
}

export interface StreamTarget {
  /** Absent on a face's bare path: the client's own tenant and default instance (fixed once a token names them). */
  tenant?: string;
  instance?: string;
  /** The request path, named in a 403's details as HTTP does. */
  url: string;
  /** Where the upgrade request came from, for the stream's audit rows. */
  origin: StreamOrigin;
}

/** The event types a client may see: those of the resources its policy lets it read (as the change feed). */
export function readableTypes(principal: Principal, view: StreamView = FEED_VIEW): EventType[] {
  return view.types.filter((t) =>
    principal.permissions.has(READ_PERMISSION[t.split('.')[0] as keyof typeof READ_PERMISSION]),
  );
}

/**
 * The access hook's decision for a token that did not come in a header: the same authentication, the same
 * tenant and instance checks, the same errors (KithError NOT_VALID_JSON_WEB_TOKEN, TOKEN_EXPIRED, 403).
 */
export async function resolveAccess(
  authenticator: Authenticator,
  authorization: string,
  target: StreamTarget,
  view: StreamView = FEED_VIEW,
): Promise<Access> {
  const principal = await authenticator.authenticate(authorization);
  if (target.tenant !== undefined && target.tenant !== principal.tenantName)
    throw denied(principal, target.url);
  // The stream would show every company's contacts: not for a client limited to some (as the access hook).
  if (principal.companies) throw denied(principal, target.url);
  const scope =
    target.instance === undefined
      ? defaultScope(principal, target.url)
      : instanceScope(principal, target.instance, target.url);
  const access = { principal, authorization, scope };
  requireReadable(access, target.url, view);
  return access;
}

/** A client that may read none of the resources the stream's events are about gets the change feed's 403. */
export function requireReadable(
  access: Pick<Access, 'principal'>,
  url: string,
  view: StreamView = FEED_VIEW,
): void {
  if (readableTypes(access.principal, view).length === 0) throw denied(access.principal, url);
}
