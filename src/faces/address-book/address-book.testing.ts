// What the address-book tests share: a client for the face's routes, the seed's example contact, and the check of
// a refusal in the face's error shape (for the shared security suite).
import { expect } from 'vitest';
import type { Kith, TestTenant } from '../../../test/harness.ts';
import type { ErrorBody } from './address-book.schemas.ts';
import type { Contact } from './address-book.schemas.ts';

export type Single = { data: Contact };
export type Page<T = Contact> = { data: T[]; meta: { total: number; limit: number; offset: number } };

/** The seed's example contact (its event payload), with an address that is not obfuscated. */
export const ANA = {
  display_name: 'Ana García',
  first_name: 'Ana',
  last_name: 'García',
  emails: [{ address: 'ana@acmelabs.example', label: 'work', primary: true }],
  phones: [{ number: '+34612345678', label: 'mobile', primary: true }],
  company: 'Acme Labs',
  job_title: 'Head of Partnerships',
  tags: ['partnership'],
};

const FACE_CODES: Record<string, string> = {
  NOT_VALID_JSON_WEB_TOKEN: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'UNAUTHORIZED',
  ACCESS_FOR_API_CLIENT_RESTRICTED: 'FORBIDDEN',
};

/** A refusal in the face's shape: the seed's code, the Kith code behind it as details.reason. */
export function expectFaceError(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  const { error } = res.body as ErrorBody;
  expect(Object.keys(res.body as object)).toEqual(['error']);
  expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
  expect(error).toMatchObject({ code: FACE_CODES[code] ?? code, details: { reason: code } });
}

/** The face at one of its two places: the bare path (the client's default instance) or a tenant's instance. */
export async function addressBook(kith: Kith, options: { tenant?: TestTenant; instance?: string } = {}) {
  const tenant = options.tenant ?? (await kith.newTenant());
  const token = await tenant.token();
  const root = options.instance === undefined ? '/api/v1' : `/${tenant.name}/${options.instance}/api/v1`;
  const base = `${root}/contacts`;
  const call = <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    kith.request<T>(method, path, { token, body, headers });
  return {
    tenant,
    token,
    root,
    base,
    call,
    create: (body: unknown) => call<Single>('POST', base, body),
    /** Creates and returns the contact, failing the test on anything but 201. */
    add: async (body: Record<string, unknown>) => {
      const res = await call<Single>('POST', base, body);
      expect(res.status, res.text).toBe(201);
      return res.body.data;
    },
    get: (id: string) => call<Single>('GET', `${base}/${id}`),
    patch: (id: string, body: unknown, headers?: Record<string, string>) =>
      call<Single>('PATCH', `${base}/${id}`, body, headers),
    custom: (id: string, body: unknown) => call<Single>('PATCH', `${base}/${id}/custom`, body),
    remove: (id: string, query = '') => call('DELETE', `${base}/${id}${query}`),
    restore: (id: string) => call<Single>('POST', `${base}/${id}/restore`),
    list: <T = Contact>(query = '') => call<Page<T>>('GET', `${base}${query}`),
    names: async (query = '') =>
      (await call<Page>('GET', `${base}${query}`)).body.data.map((c) => c.display_name),
  };
}

export function fieldsOf(body: unknown): string[] {
  const fields = (body as ErrorBody).error.details.fields as Array<{ field: string }> | undefined;
  return (fields ?? []).map((f) => f.field);
}
