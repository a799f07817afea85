// Token exchange (both the documented and the recorded Welkin form) and token introspection.
import type { FastifyRequest } from 'fastify';
import type { KithApp } from '../http/types.ts';
import type { Services } from '../../services.ts';
import { principalOf } from '../http/context.ts';
import {
  TenantTokenBody,
  TenantTokenParams,
  TokenRequestBody,
  TokenResponse,
  WhoAmIResponse,
} from './auth.schemas.ts';

export async function authRoutes(app: KithApp, { services }: { services: Services }) {
  const remoteAddress = (request: FastifyRequest) => request.ip;

  app.post(
    '/auth/token',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange an API client key and secret for a 1-hour bearer token',
        body: TokenRequestBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) =>
      services.clients.issueToken({ ...request.body, remoteAddress: remoteAddress(request) }),
  );

  app.post(
    '/:tenant/admin/api_clients/:apiClient',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a secret for a bearer token (the form the Welkin client uses)',
        params: TenantTokenParams,
        body: TenantTokenBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) =>
      services.clients.issueToken({
        apiClient: request.params.apiClient,
        secret: request.body.secret,
        tenant: request.params.tenant,
        remoteAddress: remoteAddress(request),
      }),
  );

  app.get(
    '/auth/me',
    {
      config: { permission: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Describe the calling API client and its token',
        response: { 200: WhoAmIResponse },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return {
        apiClient: p.clientKey,
        name: p.clientName,
        tenant: p.tenantName,
        instances: [...p.instances.keys()],
        policy: p.policy,
        permissions: [...p.permissions].sort(),
        expiresAt: p.tokenExpiresAt.toISOString(),
      };
    },
  );
}
