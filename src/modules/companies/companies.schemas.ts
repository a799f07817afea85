// The company contract, defined once: the editable fields below are the create body, the patch body and most of
// the response, so the validator, the serializer, the TypeScript types and the OpenAPI entry cannot drift.
import { Type, type Static, type TSchema } from 'typebox';
import { InstanceParams } from '../../platform/http/params.ts';
import { MetaInfoPageSchema, PageQuery } from '../../platform/http/pagination.ts';

export const LIMITS = {
  name: 200,
  phone: 50,
  externalId: 200,
  tags: 50,
  tag: 64,
  customFieldKeys: 100,
  customFieldKey: 64,
  /** Bytes of the JSON serialization of customFields. */
  customFieldsBytes: 16 * 1024,
  search: 200,
} as const;

/**
 * `type: [T, 'null']` rather than `anyOf [T, null]`: the app's Ajv coerces types, and inside anyOf it would turn a
 * null into "" in the string branch before the null branch is tried, so `{"phone": null}` would not clear.
 */
function Nullable<T extends TSchema>(schema: T) {
  const type = (schema as unknown as { type: string }).type;
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] });
}

const Name = Type.String({ minLength: 1, maxLength: LIMITS.name, description: 'Not blank; stored trimmed' });
const Domain = Type.String({
  format: 'hostname',
  maxLength: 253,
  description: 'A hostname such as `acme.com`; stored lower-case',
});
const Phone = Type.String({ minLength: 1, maxLength: LIMITS.phone });
const ExternalId = Type.String({
  minLength: 1,
  maxLength: LIMITS.externalId,
  description: "The caller's own identifier; unique among the instance's companies that are not deleted",
});
const AddressLine = (maxLength: number) => Type.Optional(Nullable(Type.String({ minLength: 1, maxLength })));
const Address = Type.Object(
  {
    street: AddressLine(200),
    city: AddressLine(100),
    state: AddressLine(100),
    postalCode: AddressLine(20),
    country: AddressLine(100),
  },
  { additionalProperties: false, description: 'Replaced as a whole on PATCH; null parts are dropped' },
);
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.tag }), {
  maxItems: LIMITS.tags,
  description: `Unique, not blank, at most ${LIMITS.tag} characters each; stored trimmed`,
});
const CustomFields = Type.Record(Type.String(), Type.Unknown(), {
  maxProperties: LIMITS.customFieldKeys,
  propertyNames: { minLength: 1, maxLength: LIMITS.customFieldKey },
  description: `Any JSON values, at most ${LIMITS.customFieldsBytes} bytes serialized; replaced as a whole on PATCH`,
});

/** Every field a client may write. Null clears an optional field (tags to [], customFields to {}). */
const editable = {
  domain: Type.Optional(Nullable(Domain)),
  phone: Type.Optional(Nullable(Phone)),
  address: Type.Optional(Nullable(Address)),
  tags: Type.Optional(Nullable(Tags)),
  customFields: Type.Optional(Nullable(CustomFields)),
  externalId: Type.Optional(Nullable(ExternalId)),
};

export const CompanyCreateBody = Type.Object({ name: Name, ...editable }, { additionalProperties: false });

// Read-only fields (id, version, createdAt, deletedAt, …) are not listed, so sending one is a 400 naming it.
export const CompanyPatchBody = Type.Object(
  { name: Type.Optional(Name), ...editable },
  { additionalProperties: false },
);

export const Company = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Name,
  domain: Nullable(Domain),
  phone: Nullable(Phone),
  address: Nullable(Address),
  tags: Tags,
  customFields: CustomFields,
  externalId: Nullable(ExternalId),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String({ description: 'The API client that created it' }),
  updatedBy: Type.String({ description: 'The API client that last changed it' }),
  deletedAt: Nullable(
    Type.String({ format: 'date-time', description: 'Set while the company is in the trash' }),
  ),
  version: Type.Integer({
    minimum: 1,
    description: 'Starts at 1, +1 per change; the ETag is its quoted value',
  }),
});

// Query flags read `true/false/True/False/1/0`; Ajv's own coercion knows only `true/false`.
const FLAG_VALUES = ['true', 'false', 'True', 'False', '1', '0'] as const;
const Flag = (description: string) =>
  Type.Optional(
    Type.Unsafe<(typeof FLAG_VALUES)[number]>(Type.String({ enum: [...FLAG_VALUES], description })),
  );

export function isSet(flag: (typeof FLAG_VALUES)[number] | undefined): boolean {
  return flag === 'true' || flag === 'True' || flag === '1';
}

export const CompanyParams = Type.Object({
  ...InstanceParams.properties,
  id: Type.String({ format: 'uuid' }),
});

export const CompanyGetQuery = Type.Object(
  { includeDeleted: Flag('Also find the company while it is in the trash') },
  { additionalProperties: false },
);

// Unknown query parameters are refused: a misspelt `onlydeleted` silently listing live companies is worse.
export const CompanyListQuery = Type.Object(
  {
    ...PageQuery.properties,
    includeDeleted: Flag('Include companies in the trash'),
    onlyDeleted: Flag('List only the trash (wins over includeDeleted)'),
    search: Type.Optional(
      Type.String({
        maxLength: LIMITS.search,
        description: 'Case- and accent-insensitive substring of the name',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CompanyListResponse = MetaInfoPageSchema(Company);

export type Company = Static<typeof Company>;
export type CompanyCreate = Static<typeof CompanyCreateBody>;
export type CompanyPatch = Static<typeof CompanyPatchBody>;
export type Address = Static<typeof Address>;
