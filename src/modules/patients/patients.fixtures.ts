// Shared by the patient tests: a fresh tenant per test, a patient body builder, and error-body readers.
import { expect } from 'vitest';
import type { ApiResponse, Kith, RequestOptions } from '../../../test/harness.ts';
import type { Patient } from './patients.schemas.ts';

export type ErrorBody = Array<{ errorCode: string; message: string; details: Record<string, unknown> }>;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A body for POST /patients, with overrides. */
export function patient(overrides: Record<string, unknown> = {}) {
  return { firstName: 'Foo', lastName: 'Bar', ...overrides };
}

/** A fresh tenant, and calls into its `live` instance with its full-access client. */
export async function workspaceIn(kith: Kith) {
  const tenant = await kith.newTenant();
  const token = await tenant.token();
  const call = <T = Patient>(method: string, path: string, options: RequestOptions = {}) =>
    kith.request<T>(method, `/${tenant.name}/live${path}`, { token, ...options });
  const create = async (overrides: Record<string, unknown> = {}) => {
    const res = await call('POST', '/patients', { body: patient(overrides) });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  return { tenant, token, call, create };
}

/** The fields a VALIDATION_ERROR or CONFLICT names, each once, sorted. */
export function fieldsOf(res: ApiResponse<unknown>): string[] {
  const [item] = res.body as ErrorBody;
  return [...new Set((item!.details.fields as Array<{ field: string }>).map((f) => f.field))].sort();
}

export function withoutDate(body: unknown) {
  return (body as ErrorBody).map(({ date: _date, ...rest }: ErrorBody[number] & { date?: string }) => rest);
}
