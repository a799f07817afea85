// One contract per shape: what a client may write (create / patch), what Kith returns (full / compact), and the
// list query. Read-only fields (id, version, createdAt, e164, …) are not writable: sending one is a 400 naming it.
import { Type, type Static } from 'typebox';
import { Id, Nullable, QueryFlag, StringEnum } from '../../platform/http/schema-helpers.ts';
import { MetaInfo } from '../../platform/http/pagination.ts';
import { InstanceParams } from '../../platform/http/params.ts';
import { EMAIL_LABELS, PHONE_LABELS, RELATIONSHIPS } from './contacts.model.ts';

export const LIMITS = {
  name: 200,
  notes: 10_000,
  emails: 20,
  phones: 20,
  addresses: 10,
  tags: 50,
  tag: 64,
  customFields: 100,
  customFieldsBytes: 16 * 1024,
  customKey: 64,
} as const;

const Text = (maxLength: number = LIMITS.name) => Type.String({ maxLength });
const Email = Type.String({ format: 'email', maxLength: 254 });
const PhoneNumber = Type.String({ minLength: 1, maxLength: 50 });

const EmailInput = Type.Object(
  { address: Email, label: Type.Optional(StringEnum(EMAIL_LABELS)), primary: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const PhoneInput = Type.Object(
  {
    number: PhoneNumber,
    label: Type.Optional(StringEnum(PHONE_LABELS)),
    primary: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export const Address = Type.Object(
  {
    street: Type.Optional(Nullable(Text())),
    city: Type.Optional(Nullable(Text())),
    state: Type.Optional(Nullable(Text())),
    postalCode: Type.Optional(Nullable(Text(40))),
    country: Type.Optional(Nullable(Text(100))),
    label: Type.Optional(Nullable(StringEnum(['home', 'work', 'other'] as const))),
  },
  { additionalProperties: false },
);
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.tag }), { maxItems: LIMITS.tags });
export const CustomFields = Type.Record(
  Type.String({ minLength: 1, maxLength: LIMITS.customKey }),
  Type.Unknown(),
  {
    maxProperties: LIMITS.customFields,
  },
);

/** Every writable field; create and patch are views of this one list. */
const writable = {
  patientId: Nullable(Id),
  companyId: Nullable(Id),
  firstName: Nullable(Text()),
  middleName: Nullable(Text()),
  lastName: Nullable(Text()),
  displayName: Nullable(Text()),
  relationship: Nullable(StringEnum(RELATIONSHIPS)),
  isPrimary: Type.Boolean(),
  email: Nullable(Email),
  phone: Nullable(PhoneNumber),
  emails: Type.Array(EmailInput, { maxItems: LIMITS.emails }),
  phones: Type.Array(PhoneInput, { maxItems: LIMITS.phones }),
  addresses: Type.Array(Address, { maxItems: LIMITS.addresses }),
  company: Nullable(Text()),
  jobTitle: Nullable(Text()),
  notes: Nullable(Text(LIMITS.notes)),
  avatarUrl: Nullable(Type.String({ format: 'uri', maxLength: 2048 })),
  tags: Tags,
  customFields: CustomFields,
  source: Nullable(Text(100)),
  externalId: Nullable(Type.String({ minLength: 1, maxLength: 200 })),
};

export const ContactInput = Type.Partial(Type.Object(writable), { additionalProperties: false });
export type ContactInput = Static<typeof ContactInput>;

const { patientId: _patientId, ...patientContactFields } = writable;

/** Seed 000's create body: firstName, lastName and relationship required; the patient comes from the path. */
export const PatientContactCreate = Type.Object(
  {
    ...Type.Partial(Type.Object(patientContactFields)).properties,
    firstName: Type.String({ minLength: 1, maxLength: LIMITS.name }),
    lastName: Type.String({ minLength: 1, maxLength: LIMITS.name }),
    relationship: StringEnum(RELATIONSHIPS),
  },
  { additionalProperties: false },
);

export const PatientContactPatch = Type.Partial(Type.Object(patientContactFields), {
  additionalProperties: false,
});

export const CustomFieldsPatch = CustomFields;

export const Contact = Type.Object({
  id: Type.String(),
  patientId: Nullable(Type.String()),
  companyId: Nullable(Type.String()),
  firstName: Nullable(Type.String()),
  middleName: Nullable(Type.String()),
  lastName: Nullable(Type.String()),
  displayName: Type.String(),
  relationship: Nullable(Type.String()),
  isPrimary: Type.Boolean(),
  email: Nullable(Type.String({ description: 'The primary entry of emails' })),
  phone: Nullable(Type.String({ description: 'The primary entry of phones, in E.164' })),
  emails: Type.Array(Type.Object({ address: Type.String(), label: Type.String(), primary: Type.Boolean() })),
  phones: Type.Array(
    Type.Object({
      number: Type.String(),
      label: Type.String(),
      primary: Type.Boolean(),
      e164: Type.String({ description: 'Read-only E.164 form' }),
    }),
  ),
  addresses: Type.Array(Address),
  company: Nullable(Type.String()),
  jobTitle: Nullable(Type.String()),
  notes: Nullable(Type.String()),
  avatarUrl: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  customFields: Type.Record(Type.String(), Type.Unknown()),
  source: Nullable(Type.String()),
  externalId: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  updatedBy: Type.String(),
  deletedAt: Nullable(Type.String({ format: 'date-time' })),
  version: Type.Integer({ description: 'Increments on every change; the ETag' }),
});
export type Contact = Static<typeof Contact>;

export const CompactContact = Type.Object({
  id: Type.String(),
  displayName: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  company: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
});

export const SORTS = ['displayName', 'createdAt', 'updatedAt', 'company', 'lastName'] as const;
export type Sort = (typeof SORTS)[number];

/** The directory list's filters and paging; the patient and company lists take subsets. */
export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Default 20' })),
  offset: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 50_000, description: 'Use cursor to go deeper' }),
  ),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 50_000, description: 'Alias of offset' })),
  page: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_500, description: 'From 0; with size' })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 1000, description: 'metaInfo.nextCursor of the previous page' }),
  ),
  sort: Type.Optional(StringEnum(SORTS)),
  order: Type.Optional(StringEnum(['asc', 'desc'] as const)),
  search: Type.Optional(Type.String({ maxLength: 200 })),
  tag: Type.Optional(Type.Array(Type.String({ maxLength: LIMITS.tag }), { maxItems: 10 })),
  company: Type.Optional(Type.String({ maxLength: 200, description: 'Partial, case-insensitive' })),
  source: Type.Optional(Type.String({ maxLength: 100 })),
  patientId: Type.Optional(Id),
  companyId: Type.Optional(Id),
  relationship: Type.Optional(StringEnum(RELATIONSHIPS)),
  updatedSince: Type.Optional(Type.String({ format: 'date-time' })),
  includeDeleted: Type.Optional(QueryFlag),
  onlyDeleted: Type.Optional(QueryFlag),
  format: Type.Optional(StringEnum(['full', 'compact'] as const)),
});
export type ListQuery = Static<typeof ListQuery>;

export const ListMetaInfo = Type.Intersect([
  MetaInfo,
  Type.Object({
    offset: Type.Integer(),
    totalIsEstimate: Type.Boolean({
      description: 'True when totalElements is an estimate (very large results)',
    }),
    nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page; null on the last' })),
  }),
]);

export const ContactList = Type.Object({
  data: Type.Array(Type.Union([Contact, CompactContact])),
  metaInfo: ListMetaInfo,
});

export const ContactParams = Type.Object({ ...InstanceParams.properties, id: Id });

export const DeleteQuery = Type.Object({ permanent: Type.Optional(QueryFlag) });

export const PatientContactParams = Type.Object({ ...InstanceParams.properties, patientId: Id });
export const PatientContactItemParams = Type.Object({ ...PatientContactParams.properties, contactId: Id });
export const CompanyContactsParams = Type.Object({ ...InstanceParams.properties, companyId: Id });

export const CompanyContactsQuery = Type.Pick(ListQuery, [
  'skip',
  'limit',
  'offset',
  'page',
  'size',
  'cursor',
  'sort',
  'order',
  'format',
]);
