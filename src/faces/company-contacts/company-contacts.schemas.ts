// The wire format of seed 003's contacts API: snake_case fields, plain arrays and objects, `{"detail": "…"}`
// errors. Create and patch are views of one list of writable fields.
import { Type, type Static } from 'typebox';
import { InstanceParams } from '../../platform/http/params.ts';
import { Nullable } from '../../platform/http/schema-helpers.ts';

export const TAGS = ['Face: company contacts (seed 003)'];

const Uuid = Type.String({ format: 'uuid' });
// At least one non-blank character: a contact needs a name, and a blank one would be stored as none.
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Text = Type.String({ maxLength: 200 });

const writable = {
  company_id: Nullable(Uuid),
  first_name: Name,
  last_name: Nullable(Text),
  email: Type.String({ format: 'email', maxLength: 254 }),
  phone: Nullable(Type.String({ minLength: 1, maxLength: 50 })),
  designation: Nullable(Text),
  is_primary: Type.Boolean(),
};

export const ContactCreate = Type.Object(
  {
    ...Type.Partial(Type.Object(writable)).properties,
    first_name: writable.first_name,
    email: writable.email,
  },
  { additionalProperties: false },
);
export type ContactCreate = Static<typeof ContactCreate>;

export const ContactPatch = Type.Partial(Type.Object(writable), { additionalProperties: false });
export type ContactPatch = Static<typeof ContactPatch>;

export const FaceContact = Type.Object({
  id: Type.String(),
  company_id: Nullable(Type.String()),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  email: Nullable(Type.String({ description: 'The primary email' })),
  phone: Nullable(Type.String({ description: 'The primary phone, as it was written' })),
  designation: Nullable(Type.String({ description: 'Job title' })),
  is_primary: Type.Boolean({ description: "The company's primary contact" }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type FaceContact = Static<typeof FaceContact>;

export const FaceError = Type.Object({ detail: Type.String() }, { description: 'FastAPI-style error' });

export const LIST_DEFAULT_LIMIT = 100;

export const ListQuery = Type.Object({
  company_id: Type.String({ format: 'uuid', description: 'The company whose contacts to list' }),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 50_000, default: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: LIST_DEFAULT_LIMIT })),
});

/** Path parameters of the two places the face is served: the bare path and under a tenant and instance. */
export const BareParams = Type.Object({});
export const ScopedParams = InstanceParams;

export const responses = { '4xx': FaceError, '5xx': FaceError };
