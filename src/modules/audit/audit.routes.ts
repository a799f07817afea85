// GET /{t}/admin/audit-data: Welkin's data audit (reference B.22), tenant-level, newest first, in the P3 page shape.
import { denied } from '../../platform/http/authorize.ts';
import { principalOf } from '../../platform/http/context.ts';
import { metaInfoPage } from '../../platform/http/pagination.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { AuditListResponse, AuditParams, AuditQuery } from './audit.schemas.ts';

/** Times compare as text on SQLite: every bound is written the one way the rows are. */
const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());

export async function auditRoutes(app: KithApp, { services }: { services: Services }) {
  app.get(
    '/:tenant/admin/audit-data',
    {
      // Reading the audit log is itself recorded.
      config: { permission: 'audit:read', audit: { action: 'list', resource: 'audit' } },
      schema: {
        tags: ['audit'],
        summary: 'The audit log: changes, reads, lists, exports and refused requests, newest first',
        description:
          'Who (subject*), what (action, resourceType, resourceId, route), when (sentAt), from where (ip, ' +
          'userAgent, requestId) and the outcome (status). Never the records themselves: free-text query ' +
          'values show as [redacted]. Rows of instances the client may not use are left out.',
        params: AuditParams,
        querystring: AuditQuery,
        response: { 200: AuditListResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { page, size, instance, dateStart, dateEnd, ...filter } = request.query;
      const instanceId = instance === undefined ? undefined : principal.instances.get(instance)?.id;
      if (instance !== undefined && instanceId === undefined) throw denied(principal, request.url);
      const visibleInstanceIds = [...principal.instances.values()].map((i) => i.id);
      const { items, total } = await services.audit.list(
        principal.tenantId,
        { ...filter, visibleInstanceIds, instanceId, dateStart: iso(dateStart), dateEnd: iso(dateEnd) },
        { page, size },
      );
      return metaInfoPage(items, { page, size }, total);
    },
  );
}
