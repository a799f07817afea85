// The realtime stream's rows in the audit log. A stream is a standing list of the instance's changes, so opening
// one is audited like a list (resource `event`, status 101); a token the stream refuses (in the first message, or
// a later one) is audited like an HTTP refusal. The events sent on it are not each audited, as the change feed's
// pages are not: the list row says who watched which instance, from where and when.
import type { Access, StreamTarget } from './realtime.access.ts';
import { blankEntry } from '../audit/audit.service.ts';
import type { AuditEntry } from '../audit/audit.schemas.ts';
import type { KithError } from '../../platform/errors.ts';

/** Where a stream was opened from, kept from its upgrade request. */
export interface StreamOrigin {
  method: string;
  route: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

function fromOrigin(target: StreamTarget, at: string): AuditEntry {
  const { origin } = target;
  return {
    ...blankEntry(at),
    method: origin.method,
    route: origin.route,
    ip: origin.ip,
    userAgent: origin.userAgent,
    requestId: origin.requestId,
  };
}

export function streamOpened(target: StreamTarget, access: Access, at: string): AuditEntry {
  const { principal, scope } = access;
  return {
    ...fromOrigin(target, at),
    tenantId: scope.tenantId,
    instanceId: scope.instanceId,
    instance: scope.instance,
    actorType: 'API_CLIENT',
    actorId: principal.clientId,
    actorName: `API_CLIENT:${principal.clientName}`,
    action: 'listed',
    resourceType: 'event',
    status: 101,
  };
}

/** A refused token: on the tenant named in the path when there is one (as HTTP refusals without a valid token). */
export function streamRefused(target: StreamTarget, error: KithError, at: string): AuditEntry {
  return {
    ...fromOrigin(target, at),
    tenantName: target.tenant ?? null,
    instance: target.instance ?? null,
    action: 'denied',
    resourceType: 'event',
    status: error.status,
  };
}
