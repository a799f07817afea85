// Read-only views of a tenant's instances (creation is an operator task: `kith admin instance create`).
import { InstanceParams, TenantParams } from '../../platform/http/params.ts';
import { principalOf, scopeOf } from '../../platform/http/context.ts';
import type { KithApp } from '../../platform/http/types.ts';
import type { Services } from '../../services.ts';
import { InstanceListResponse, InstanceResponse } from './tenants.schemas.ts';

export async function tenantsRoutes(app: KithApp, { services }: { services: Services }) {
  app.get(
    '/:tenant/admin/instances',
    {
      config: { permission: 'instances:read' },
      schema: {
        tags: ['instances'],
        summary: "List the tenant's instances this client may use",
        params: TenantParams,
        response: { 200: InstanceListResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const all = await services.tenants.listInstances(principal.tenantId);
      const data = all
        .filter((i) => principal.instances.has(i.name))
        .map((i) => ({ tenant: principal.tenantName, instance: i.name, createdAt: i.createdAt }));
      return { data };
    },
  );

  app.get(
    '/:tenant/:instance',
    {
      config: { permission: 'instances:read' },
      schema: {
        tags: ['instances'],
        summary: 'Describe one instance',
        params: InstanceParams,
        response: { 200: InstanceResponse },
      },
    },
    async (request) => {
      const scope = scopeOf(request);
      const instance = await services.tenants.getInstance(scope);
      return { tenant: scope.tenant, instance: instance.name, createdAt: instance.createdAt };
    },
  );
}
