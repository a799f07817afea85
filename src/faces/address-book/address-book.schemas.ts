// Seed 004's wire format: snake_case views of the directory's contract. Each writable field reuses the
// directory's schema for it (limits, formats, labels), so the face validates exactly what the model accepts.
import { Type, type Static, type TSchema } from 'typebox';
import { InstanceParams } from '../../platform/http/params.ts';
import { Id, Nullable, QueryFlag, StringEnum } from '../../platform/http/schema-helpers.ts';
import {
  Address as ModelAddress,
  Contact as ModelContact,
  ContactInput,
  CustomFields,
  LIMITS,
  ListQuery as ModelListQuery,
} from '../../modules/contacts/contacts.schemas.ts';

export const tags = ['Face: address book (seed 004)'];

const model = ContactInput.properties;
const address = ModelAddress.properties;

export const Address = Type.Object(
  {
    street: address.street,
    city: address.city,
    state: address.state,
    postal_code: address.postalCode,
    country: address.country,
    label: address.label,
  },
  { additionalProperties: false },
);
export type Address = Static<typeof Address>;

/** What PATCH may change (the seed's "updatable fields"); all optional, null clears. */
const updatable = {
  display_name: model.displayName,
  first_name: model.firstName,
  last_name: model.lastName,
  emails: model.emails,
  phones: model.phones,
  company: model.company,
  job_title: model.jobTitle,
  addresses: Type.Optional(Type.Array(Address, { maxItems: LIMITS.addresses })),
  notes: model.notes,
  avatar_path: Type.Optional(
    Nullable(Type.String({ minLength: 1, maxLength: 1024, description: 'Path to the image on the server' })),
  ),
  tags: model.tags,
  custom_fields: Type.Optional(Nullable(CustomFields)),
};

export const ContactPatch = Type.Object(updatable, { additionalProperties: false });
export type ContactPatch = Static<typeof ContactPatch>;

/** Create takes the updatable fields and where the contact came from (set once). */
export const ContactCreate = Type.Object(
  { ...updatable, source: model.source },
  { additionalProperties: false },
);
export type ContactCreate = Static<typeof ContactCreate>;

export const CustomFieldsPatch = CustomFields;

const Timestamp = Type.String({ format: 'date-time' });

export const Contact = Type.Object({
  id: Type.String(),
  display_name: Type.String(),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  emails: ModelContact.properties.emails,
  phones: Type.Array(Type.Object({ number: Type.String(), label: Type.String(), primary: Type.Boolean() })),
  company: Nullable(Type.String()),
  job_title: Nullable(Type.String()),
  addresses: Type.Array(Address),
  notes: Nullable(Type.String()),
  avatar_path: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  custom_fields: Nullable(Type.Record(Type.String(), Type.Unknown())),
  source: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: Nullable(Timestamp),
});
export type Contact = Static<typeof Contact>;

/** `format=compact`: the directory's compact choice of fields. */
export const CompactContact = Type.Object({
  id: Type.String(),
  display_name: Type.String(),
  email: Nullable(Type.String({ description: 'The primary email' })),
  phone: Nullable(Type.String({ description: 'The primary phone, in E.164' })),
  company: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
});
export type CompactContact = Static<typeof CompactContact>;

export const SORTS = ['display_name', 'created_at', 'updated_at', 'company'] as const;

const list = ModelListQuery.properties;

export const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  offset: Type.Integer({ minimum: 0, maximum: 50_000, default: 0 }),
  sort: Type.Optional(StringEnum(SORTS, { description: 'Default display_name' })),
  order: Type.Optional(StringEnum(['asc', 'desc'] as const, { description: 'Default asc' })),
  search: list.search,
  tag: Type.Optional(
    Type.Array(Type.String({ maxLength: LIMITS.tag }), {
      maxItems: 10,
      description: 'Repeat for AND: ?tag=a&tag=b',
    }),
  ),
  company: list.company,
  source: list.source,
  include_deleted: Type.Optional(QueryFlag),
  only_deleted: Type.Optional(QueryFlag),
  format: Type.Optional(StringEnum(['full', 'compact'] as const)),
});
export type ListQuery = Static<typeof ListQuery>;

export const Single = Type.Object({ data: Contact });

export const List = Type.Object({
  data: Type.Array(Type.Union([Contact, CompactContact])),
  meta: Type.Object({
    total: Type.Integer({ description: 'Matching contacts (exact up to 1,000; an estimate beyond)' }),
    limit: Type.Integer(),
    offset: Type.Integer(),
  }),
});

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({
      description:
        'VALIDATION_ERROR, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, INTERNAL_ERROR, …',
    }),
    message: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'fields: the failing fields of a VALIDATION_ERROR; reason: the Kith code behind a broader one',
    }),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;

/** The face's error responses, for serialization and the OpenAPI document. */
export const errorResponses = { '4xx': ErrorBody, '5xx': ErrorBody };

export const IdParams = Type.Object({ id: Id });
export const InstanceIdParams = Type.Object({ ...InstanceParams.properties, id: Id });

/** The two places the face is served: the client's default instance, and a named one. */
export interface Mount {
  prefix: string;
  params: TSchema;
  idParams: typeof IdParams | typeof InstanceIdParams;
  scope?: 'default-instance';
}

export const MOUNTS: Mount[] = [
  { prefix: '/api/v1', params: Type.Object({}), idParams: IdParams, scope: 'default-instance' },
  { prefix: '/:tenant/:instance/api/v1', params: InstanceParams, idParams: InstanceIdParams },
];
