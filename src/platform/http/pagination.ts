// The page shapes Welkin uses, built in one place: `metaInfo` (P3) and the Spring page (P1). Both number pages
// from 0 and default to 20 per page, at most 100.
import { Type, type TSchema } from 'typebox';

export const PageQuery = Type.Object({
  page: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Page number, from 0' }),
  size: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page (max 100)' }),
});

export interface PageRequest {
  page: number;
  size: number;
}

export const offsetOf = ({ page, size }: PageRequest) => page * size;

export const MetaInfo = Type.Object({
  page: Type.Integer(),
  pageSize: Type.Integer(),
  totalElements: Type.Integer(),
  numberOfElements: Type.Integer(),
  totalPages: Type.Integer(),
  firstPage: Type.Boolean(),
  lastPage: Type.Boolean(),
});

export function metaInfoPage<T>(items: T[], request: PageRequest, total: number) {
  const totalPages = Math.ceil(total / request.size);
  return {
    data: items,
    metaInfo: {
      page: request.page,
      pageSize: request.size,
      totalElements: total,
      numberOfElements: items.length,
      totalPages,
      firstPage: request.page === 0,
      lastPage: request.page >= totalPages - 1,
    },
  };
}

export function MetaInfoPageSchema<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), metaInfo: MetaInfo });
}

const SpringSort = Type.Object({ sorted: Type.Boolean(), unsorted: Type.Boolean(), empty: Type.Boolean() });

export function SpringPageSchema<T extends TSchema>(item: T) {
  return Type.Object({
    content: Type.Array(item),
    pageable: Type.Object({
      sort: SpringSort,
      pageNumber: Type.Integer(),
      pageSize: Type.Integer(),
      offset: Type.Integer(),
      paged: Type.Boolean(),
      unpaged: Type.Boolean(),
    }),
    last: Type.Boolean(),
    totalElements: Type.Integer(),
    totalPages: Type.Integer(),
    sort: SpringSort,
    first: Type.Boolean(),
    number: Type.Integer(),
    numberOfElements: Type.Integer(),
    size: Type.Integer(),
    empty: Type.Boolean(),
  });
}

export function springPage<T>(items: T[], request: PageRequest, total: number, sorted = false) {
  const sort = { sorted, unsorted: !sorted, empty: !sorted };
  const totalPages = Math.ceil(total / request.size);
  return {
    content: items,
    pageable: {
      sort,
      pageNumber: request.page,
      pageSize: request.size,
      offset: offsetOf(request),
      paged: true,
      unpaged: false,
    },
    last: request.page >= totalPages - 1,
    totalElements: total,
    totalPages,
    sort,
    first: request.page === 0,
    number: request.page,
    numberOfElements: items.length,
    size: request.size,
    empty: items.length === 0,
  };
}
