// Security policies: which actions a client may take on which resources. Two are built in; tenants add their own
// from JSON files through the CLI. A route names the one permission it needs (`resource:action`).
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { KithError } from '../errors.ts';

export const RESOURCES = [
  'patients',
  'contacts',
  'companies',
  'instances',
  'audit',
  'webhooks',
  'export',
] as const;
export const ACTIONS = ['read', 'create', 'update', 'delete'] as const;

export type Resource = (typeof RESOURCES)[number];
export type Action = (typeof ACTIONS)[number];
export type Permission = `${Resource}:${Action}`;

/**
 * What a route requires: `public` (no token), `authenticated` (any valid token) or one permission. Every route
 * declares one in its `config`; the app refuses to start with a route that does not.
 */
export type RoutePermission = 'public' | 'authenticated' | Permission;

export const POLICY_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

export const PolicySchema = Type.Object(
  {
    name: Type.String({ pattern: POLICY_NAME_PATTERN }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    grants: Type.Array(
      Type.Object(
        {
          resource: Type.Unsafe<Resource | '*'>(Type.String({ enum: [...RESOURCES, '*'] })),
          actions: Type.Array(Type.Unsafe<Action | '*'>(Type.String({ enum: [...ACTIONS, '*'] })), {
            minItems: 1,
            maxItems: ACTIONS.length + 1,
          }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100 },
    ),
    companies: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
        maxItems: 1000,
        description: "Company ids this policy's clients are limited to; absent for every company",
      }),
    ),
  },
  { additionalProperties: false },
);

export type Policy = Static<typeof PolicySchema>;
export type Grant = Policy['grants'][number];

export const BUILT_IN_POLICIES: Record<string, Policy> = {
  'full-access': { name: 'full-access', grants: [{ resource: '*', actions: ['*'] }] },
  'read-only': { name: 'read-only', grants: [{ resource: '*', actions: ['read'] }] },
};

export function isBuiltInPolicy(name: string): boolean {
  return Object.hasOwn(BUILT_IN_POLICIES, name);
}

/** Expands grants (with their wildcards) into the set of permissions they allow. */
export function compileGrants(grants: readonly Grant[]): ReadonlySet<Permission> {
  const allowed = new Set<Permission>();
  for (const grant of grants) {
    const resources = grant.resource === '*' ? RESOURCES : [grant.resource];
    const actions = grant.actions.includes('*') ? ACTIONS : (grant.actions as Action[]);
    for (const r of resources) for (const a of actions) allowed.add(`${r}:${a}`);
  }
  return allowed;
}

/** Validates a policy read from a file, naming every problem. */
export function parsePolicy(input: unknown): Policy {
  if (Value.Check(PolicySchema, input)) return input;
  const problems = [...Value.Errors(PolicySchema, input)].map(
    (e) => `${e.instancePath || '(root)'}: ${e.message}`,
  );
  throw new KithError('VALIDATION_ERROR', {
    message: `Not a valid security policy: ${problems.join('; ')}`,
    details: { problems },
  });
}
