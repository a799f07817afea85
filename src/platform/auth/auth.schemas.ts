import { Type } from 'typebox';

const Secret = Type.String({ minLength: 1, maxLength: 512, description: 'The API client secret' });
const Key = Type.String({
  minLength: 1,
  maxLength: 128,
  description: 'The API client key, e.g. VBOPNRYRWJIP',
});

export const TokenRequestBody = Type.Object(
  { apiClient: Key, secret: Secret },
  { additionalProperties: false },
);

export const TenantTokenParams = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: 63 }),
  apiClient: Key,
});
export const TenantTokenBody = Type.Object({ secret: Secret }, { additionalProperties: false });

export const TokenResponse = Type.Object({
  token: Type.String({ description: 'Bearer token (JWT) for the Authorization header' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

export const WhoAmIResponse = Type.Object({
  apiClient: Type.String(),
  name: Type.String(),
  tenant: Type.String(),
  instances: Type.Array(Type.String(), { description: 'Granted instances; the first is the default' }),
  policy: Type.String(),
  permissions: Type.Array(Type.String()),
  expiresAt: Type.String({ format: 'date-time', description: 'When the presented token expires' }),
});
