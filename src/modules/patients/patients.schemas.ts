// The patient contract, defined once: the writable fields are shared by the create and patch bodies, and the
// response is Welkin's full patient object (reference D.1) with every field always present.
import { Type, type Static, type TSchema } from 'typebox';
import { PageQuery } from '../../platform/http/pagination.ts';
import { InstanceParams } from '../../platform/http/params.ts';

// Nullable inputs use JSON-schema type arrays, not anyOf: with the app's coerceTypes, Ajv would turn a null
// matched against an anyOf's string branch into "" before it ever reached the null branch.
function NullableString(options: {
  maxLength: number;
  minLength?: number;
  pattern?: string;
  description?: string;
}) {
  return Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });
}

function NullableEnum<T extends string>(values: readonly T[], description: string) {
  return Type.Unsafe<T | null>({ type: ['string', 'null'], enum: [...values, null], description });
}

function NullableArray<T extends TSchema>(items: T, maxItems: number, description: string) {
  return Type.Unsafe<Array<Static<T>> | null>({ type: ['array', 'null'], items, maxItems, description });
}

export const GENDERS = ['MALE', 'FEMALE', 'OTHER', 'UNKNOWN'] as const;
export type Gender = (typeof GENDERS)[number];

export const LOOKUP_TYPES = ['ID', 'EID', 'EGUID', 'MRN'] as const;
export type LookupType = (typeof LOOKUP_TYPES)[number];

const NAME_MAX = 200;
const UUID = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
/** `YYYY-MM-DD`, or an ISO datetime such as the `2022-08-09T00:00:00.000Z` the Python client sends. */
const BIRTH_DATE = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2})?)?$';
// Recorded Welkin patients carry "" in text fields such as email, so the empty string stays acceptable.
const EMAIL = '^$|^[^\\s@]+@[^\\s@]+$';
const E164 = '^$|^\\+[1-9][0-9]{6,14}$';

const RequiredName = Type.String({ minLength: 1, maxLength: NAME_MAX, pattern: '\\S' });

export const TerritorySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Region name, e.g. east-coast' }),
    territories: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }),
  },
  { additionalProperties: false },
);

export const CareTeamMemberSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, description: 'User id' }),
    pointOfContact: Type.Boolean(),
  },
  { additionalProperties: false },
);

const CareTeamInput = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, description: 'User id' }),
    pointOfContact: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CareTeamInput = Static<typeof CareTeamInput>;

/** Fields a client may set, minus the two required names. */
const optionalWritable = {
  middleName: Type.Optional(NullableString({ maxLength: NAME_MAX })),
  birthDate: Type.Optional(
    NullableString({
      maxLength: 40,
      pattern: BIRTH_DATE,
      description: '`YYYY-MM-DD` or an ISO datetime; stored and returned as midnight UTC',
    }),
  ),
  gender: Type.Optional(NullableEnum(GENDERS, 'Defaults to UNKNOWN; null restores the default')),
  maritalStatus: Type.Optional(
    NullableString({
      minLength: 1,
      maxLength: 50,
      description: 'Defaults to UKN; null restores the default',
    }),
  ),
  primaryLanguage: Type.Optional(
    NullableString({
      minLength: 1,
      maxLength: 50,
      description: 'Defaults to ENGLISH; null restores the default',
    }),
  ),
  secondaryLanguage: Type.Optional(NullableString({ maxLength: 50 })),
  email: Type.Optional(NullableString({ maxLength: 254, pattern: EMAIL })),
  secondaryEmail: Type.Optional(NullableString({ maxLength: 254, pattern: EMAIL })),
  phone: Type.Optional(
    NullableString({ maxLength: 16, pattern: E164, description: 'E.164, e.g. +14155550001' }),
  ),
  secondaryPhone: Type.Optional(NullableString({ maxLength: 16, pattern: E164 })),
  mrn: Type.Optional(
    NullableString({ maxLength: 100, description: 'Unique in the instance; "" is stored as null' }),
  ),
  externalId: Type.Optional(
    NullableString({ maxLength: 100, description: 'Unique in the instance; "" is stored as null' }),
  ),
  externalGuid: Type.Optional(
    NullableString({
      maxLength: 36,
      pattern: `^$|${UUID}`,
      description: 'A UUID, unique in the instance; "" is stored as null',
    }),
  ),
  nric: Type.Optional(NullableString({ maxLength: 50 })),
  country: Type.Optional(NullableString({ maxLength: 100 })),
  state: Type.Optional(NullableString({ maxLength: 100 })),
  city: Type.Optional(NullableString({ maxLength: 100 })),
  zip: Type.Optional(NullableString({ maxLength: 20 })),
  addressLine1: Type.Optional(NullableString({ maxLength: 200 })),
  addressLine2: Type.Optional(NullableString({ maxLength: 200 })),
  timezone: Type.Optional(
    NullableString({ maxLength: 64, description: 'An IANA time zone, e.g. UTC or America/New_York' }),
  ),
  patientTerritories: Type.Optional(NullableArray(TerritorySchema, 50, 'Regions and their territories')),
  careTeam: Type.Optional(
    NullableArray(CareTeamInput, 100, 'Care team; the first member becomes point of contact if none is'),
  ),
  careTeamMembers: Type.Optional(
    NullableArray(CareTeamInput, 100, 'Accepted as careTeam when careTeam is absent or empty'),
  ),
};

// What the server computes. A client that sends back a whole patient object (the Python client does) gets
// these ignored rather than rejected; they are never stored, so their shape does not matter.
const readOnly = Object.fromEntries(
  [
    'id',
    'createdAt',
    'updatedAt',
    'createdBy',
    'updatedBy',
    'createdByName',
    'updatedByName',
    'accessCode',
    'preferableInstancePhoneId',
    'primaryPhoneCapabilities',
    'secondaryPhoneCapabilities',
    'patientRegion',
    'patientRegionTitle',
    'patientTerritory',
    'pointOfContact',
    'patientPrograms',
    'cadence',
    'territorialTeam',
  ].map((key) => [key, Type.Optional(Type.Unknown({ description: 'Read-only: accepted and ignored' }))]),
);

export const PatientCreateBody = Type.Object(
  { firstName: RequiredName, lastName: RequiredName, ...optionalWritable, ...readOnly },
  { additionalProperties: false },
);
export type PatientCreate = Static<typeof PatientCreateBody>;

export const PatientPatchBody = Type.Object(
  {
    firstName: Type.Optional(RequiredName),
    lastName: Type.Optional(RequiredName),
    ...optionalWritable,
    ...readOnly,
  },
  {
    additionalProperties: false,
    description: 'Partial: absent fields stay, null clears (or restores a default)',
  },
);
export type PatientPatch = Static<typeof PatientPatchBody>;

const Str = Type.String();
const NullStr = Type.Unsafe<string | null>({ type: ['string', 'null'] });

/** The full patient object, in the field order of Welkin's recorded responses. */
export const PatientSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  externalGuid: NullStr,
  externalId: NullStr,
  mrn: NullStr,
  nric: NullStr,
  accessCode: NullStr,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  createdBy: Str,
  updatedBy: Str,
  createdByName: Str,
  updatedByName: Str,
  firstName: Str,
  lastName: Str,
  middleName: NullStr,
  birthDate: NullStr,
  gender: Type.Unsafe<Gender>({ type: 'string', enum: [...GENDERS] }),
  maritalStatus: Str,
  primaryLanguage: Str,
  secondaryLanguage: NullStr,
  email: NullStr,
  secondaryEmail: NullStr,
  phone: NullStr,
  secondaryPhone: NullStr,
  primaryPhoneCapabilities: Type.Array(Str),
  secondaryPhoneCapabilities: Type.Array(Str),
  preferableInstancePhoneId: NullStr,
  country: NullStr,
  state: NullStr,
  city: NullStr,
  zip: NullStr,
  addressLine1: NullStr,
  addressLine2: NullStr,
  timezone: NullStr,
  patientTerritories: Type.Array(TerritorySchema),
  careTeamMembers: Type.Array(CareTeamMemberSchema),
  patientPrograms: Type.Array(Type.Unknown()),
  careTeam: Type.Array(Type.Unknown()),
  cadence: Type.Array(Type.Unknown()),
  patientRegion: NullStr,
  patientRegionTitle: NullStr,
  patientTerritory: NullStr,
  pointOfContact: Type.Unsafe<Static<typeof CareTeamMemberSchema> | null>({
    ...CareTeamMemberSchema,
    type: ['object', 'null'],
  }),
});
export type Patient = Static<typeof PatientSchema>;
export type CareTeamMember = Static<typeof CareTeamMemberSchema>;
export type Territory = Static<typeof TerritorySchema>;

// One path parameter name for GET, PATCH and DELETE, so the OpenAPI document shows one patient path.
export const PatientIdParams = Type.Object({
  ...InstanceParams.properties,
  id: Type.String({ minLength: 1, maxLength: 100, description: 'Patient id' }),
});

export const PatientIdentifierParams = Type.Object({
  ...InstanceParams.properties,
  id: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'Patient id, or with `type` its externalId, externalGuid or mrn',
  }),
});

export const LookupQuery = Type.Object({
  type: Type.Unsafe<LookupType>({
    type: 'string',
    enum: [...LOOKUP_TYPES],
    default: 'ID',
    description: 'What `id` is: ID (default), EID (externalId), EGUID (externalGuid) or MRN',
  }),
});

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1000, description: 'ETags the change may apply to' })),
});

const filters = {
  firstName: Type.Optional(
    NullableString({ maxLength: NAME_MAX, description: 'Contains, case-insensitive' }),
  ),
  lastName: Type.Optional(NullableString({ maxLength: NAME_MAX, description: 'Contains, case-insensitive' })),
  mrn: Type.Optional(NullableString({ maxLength: 100, description: 'Exact' })),
};

export const PatientListQuery = Type.Object({ ...PageQuery.properties, ...filters });

// Open on purpose: the Python client passes its caller's filter dict through, keys Kith may not know included.
export const PatientFilterBody = Type.Object(
  {
    ...filters,
    externalId: Type.Optional(NullableString({ maxLength: 100, description: 'Exact' })),
    externalGuid: Type.Optional(NullableString({ maxLength: 100, description: 'Exact' })),
  },
  { additionalProperties: true, description: 'Filters; unknown keys are ignored' },
);
export type PatientFilter = Static<typeof PatientFilterBody>;
