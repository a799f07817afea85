// Public contact intake: the routes seed 003 marks public (get by id, create, update) answer without a token
// only in an instance whose administrator opened intake (`kith admin instance intake <t> <i> on`). The bare
// path serves the instance KITH_PUBLIC_INTAKE_INSTANCE names. Anyone else without a token gets the usual 401.
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Permission } from '../../platform/auth/policies.ts';
import { anonymousCaller, type Anonymous } from '../../platform/http/context.ts';
import { NAME_PATTERN, type TenantsService } from '../../modules/tenants/tenants.service.ts';

/** What the seed makes public, and nothing more: no list, no delete. */
export const ANONYMOUS_PERMISSIONS: ReadonlySet<Permission> = new Set([
  'contacts:read',
  'contacts:create',
  'contacts:update',
]);

export type AnonymousResolver = (request: FastifyRequest) => Promise<Anonymous | undefined>;

export function intakeResolvers(tenants: TenantsService, config: Pick<Config, 'publicIntakeInstance'>) {
  async function admit(tenant: unknown, instance: unknown): Promise<Anonymous | undefined> {
    // The path is not validated yet: names that cannot exist are not looked up (nor cached).
    if (typeof tenant !== 'string' || typeof instance !== 'string') return undefined;
    if (!NAME_PATTERN.test(tenant) || !NAME_PATTERN.test(instance)) return undefined;
    const scope = await tenants.publicIntakeScope(tenant, instance);
    return scope && anonymousCaller(scope, ANONYMOUS_PERMISSIONS);
  }
  const bare = config.publicIntakeInstance;
  return {
    /** `/contacts…`: the configured instance, while its intake is open. */
    bare: (async () => (bare ? admit(bare.tenant, bare.instance) : undefined)) satisfies AnonymousResolver,
    /** `/:tenant/:instance/contacts-api/contacts…`: that instance, while its intake is open. */
    scoped: (async (request) => {
      const { tenant, instance } = request.params as Record<string, unknown>;
      return admit(tenant, instance);
    }) satisfies AnonymousResolver,
  };
}
