// Paging for contact lists: limit/offset, page/size and opaque cursors (keyset: constant cost at any depth),
// and the metadata every list answers with. Pure.
import { createHash } from 'node:crypto';
import { invalidFields, type KithError } from '../../platform/errors.ts';
import { SORT_COLUMNS, type ListFilter, type ListOrder } from './contacts.repository.ts';
import type { Sort } from './contacts.schemas.ts';

export const DEFAULT_LIMIT = 20;
/**
 * Counting stops here; past it a page says its total is an estimate. Each counted row can cost an index lookup
 * (a tag or a search match checked against the contact): 10,000 of them took 30-40 ms on SQLite, 1,000 take ~3.
 */
export const COUNT_CAP = 1_000;

export interface Paging {
  limit?: number;
  offset?: number;
  skip?: number;
  page?: number;
  size?: number;
  cursor?: string;
  sort?: Sort;
  order?: 'asc' | 'desc';
}

interface CursorBody {
  /** Sort column value and id of the last row of the previous page. */
  v: string;
  i: string;
  s: Sort;
  o: 'asc' | 'desc';
  /** Fingerprint of the filters, so a cursor cannot silently continue a different list. */
  f: string;
}

export interface PagePlan {
  limit: number;
  offset: number;
  order: ListOrder;
  sort: Sort;
  fingerprint: string;
  usedCursor: boolean;
}

function badCursor(message: string): KithError {
  return invalidFields([{ field: 'cursor', message }], 'querystring');
}

export function fingerprintOf(filter: ListFilter): string {
  return createHash('sha256').update(JSON.stringify(filter)).digest('base64url').slice(0, 16);
}

export function planPage(paging: Paging, filter: ListFilter): PagePlan {
  const sort = paging.sort ?? 'displayName';
  const direction = paging.order ?? 'asc';
  const limit = paging.limit ?? paging.size ?? DEFAULT_LIMIT;
  const fingerprint = fingerprintOf(filter);
  const order: ListOrder = { column: SORT_COLUMNS[sort], direction };
  if (paging.cursor !== undefined) {
    let body: CursorBody;
    try {
      body = JSON.parse(Buffer.from(paging.cursor, 'base64url').toString('utf8')) as CursorBody;
    } catch {
      throw badCursor('is not a cursor this server issued');
    }
    if (typeof body.v !== 'string' || typeof body.i !== 'string')
      throw badCursor('is not a cursor this server issued');
    if (body.s !== sort || body.o !== direction || body.f !== fingerprint) {
      throw badCursor('belongs to a list with other filters or another order; start again without it');
    }
    return {
      limit,
      offset: 0,
      order: { ...order, after: { value: body.v, id: body.i } },
      sort,
      fingerprint,
      usedCursor: true,
    };
  }
  const offset = paging.offset ?? paging.skip ?? (paging.page ?? 0) * limit;
  return { limit, offset, order, sort, fingerprint, usedCursor: false };
}

export function cursorAfter(plan: PagePlan, last: { value: string; id: string }): string {
  const body: CursorBody = {
    v: last.value,
    i: last.id,
    s: plan.sort,
    o: plan.order.direction,
    f: plan.fingerprint,
  };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function listMeta(
  plan: PagePlan,
  count: number,
  total: { value: number; estimate: boolean },
  nextCursor: string | null,
) {
  return {
    page: plan.usedCursor ? 0 : Math.floor(plan.offset / plan.limit),
    pageSize: plan.limit,
    totalElements: total.value,
    numberOfElements: count,
    totalPages: Math.ceil(total.value / plan.limit),
    firstPage: !plan.usedCursor && plan.offset === 0,
    lastPage: nextCursor === null,
    offset: plan.offset,
    totalIsEstimate: total.estimate,
    nextCursor,
  };
}
