// Test helpers shared by the company-contacts face's tests: the two places the face is served, a caller of one
// of them, and the face's error shape.
import { expect } from 'vitest';
import type { ApiResponse, Kith, RequestOptions, TestTenant } from '../../../test/harness.ts';
import type { FaceContact } from './company-contacts.schemas.ts';

/** Where the face is served: the bare path (the client's default instance) and under a tenant and instance. */
export const MOUNTS = {
  bare: () => '/contacts',
  scoped: (tenant: string, instance: string) => `/${tenant}/${instance}/contacts-api/contacts`,
} as const;
export type Mount = keyof typeof MOUNTS;

/** The detail the face answers for each Kith refusal the security suite provokes. */
export const REFUSALS: Record<string, string> = {
  NOT_VALID_JSON_WEB_TOKEN: 'Could not validate credentials',
  TOKEN_EXPIRED: 'Token expired',
  ACCESS_FOR_API_CLIENT_RESTRICTED: 'Not enough permissions',
};

/** A refusal in the face's shape: exactly `{"detail": "…"}`. */
export function expectDetail(
  res: { status: number; body: unknown },
  status: number,
  detail: string | RegExp,
) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(Object.keys(res.body as object)).toEqual(['detail']);
  const actual = (res.body as { detail: string }).detail;
  if (typeof detail === 'string') expect(actual).toBe(detail);
  else expect(actual).toMatch(detail);
}

/**
 * For the security suite: the face's detail for `code`. A request that sent no credentials (its challenge is a
 * bare `Bearer`) is "Not authenticated", one with bad credentials "Could not validate credentials".
 */
export function expectFaceRefusal(res: { status: number; body: unknown }, status: number, code: string) {
  const challenge = (res as Partial<ApiResponse>).headers?.get('www-authenticate');
  const detail = challenge === 'Bearer' ? 'Not authenticated' : REFUSALS[code];
  expect(detail, code).toBeDefined();
  expectDetail(res, status, detail!);
}

/** The seed's create example, with a company of the caller's. */
export function seedContact(companyId: string | null, overrides: Record<string, unknown> = {}) {
  return {
    company_id: companyId,
    first_name: 'John',
    last_name: 'Doe',
    email: 'john@acme.com',
    phone: '+91-9876543210',
    designation: 'Sales Manager',
    is_primary: false,
    ...overrides,
  };
}

/** A caller of the face at one mount, with a token of the tenant's full-access client (or the one given). */
export async function faceClient(
  kith: Kith,
  mount: Mount,
  options: { tenant?: TestTenant; token?: string } = {},
) {
  const tenant = options.tenant ?? (await kith.newTenant());
  const token = options.token ?? (await tenant.token());
  const base = MOUNTS[mount](tenant.name, tenant.instances[0]!);
  const call = <T = FaceContact>(method: string, path = '', opts: RequestOptions = {}) =>
    kith.request<T>(method, `${base}${path}`, { token, ...opts });
  /** A company in the tenant's first instance, through the directory API. */
  const company = async (name = 'Acme') => {
    const res = await kith.request<{ id: string }>(
      'POST',
      `/${tenant.name}/${tenant.instances[0]}/companies`,
      {
        token: await tenant.token(),
        body: { name },
      },
    );
    expect(res.status, res.text).toBe(201);
    return res.body.id;
  };
  const create = async (body: unknown) => {
    const res = await call('POST', '', { body });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  return { tenant, token, base, call, company, create };
}
