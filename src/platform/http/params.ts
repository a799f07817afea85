// Path parameters shared by every tenant- and instance-scoped route, defined once.
import { Type } from 'typebox';

const NAME = '^[a-z0-9][a-z0-9-]{1,62}$';

export const TenantParams = Type.Object({
  tenant: Type.String({ pattern: NAME, description: 'Tenant (organisation) name' }),
});

export const InstanceParams = Type.Object({
  tenant: Type.String({ pattern: NAME, description: 'Tenant (organisation) name' }),
  instance: Type.String({ pattern: NAME, description: 'Instance name, e.g. live or sandbox' }),
});
