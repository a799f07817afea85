// The patient document: Welkin's defaults, and how a validated create or patch body becomes the fields it sets.
// Pure functions, no I/O: the service decides when and where they apply.
import { invalidFields } from '../../platform/errors.ts';
import type { CareTeamInput, CareTeamMember, Patient, PatientPatch } from './patients.schemas.ts';

/** The fields a create or patch sets. */
export type Changes = Partial<Patient>;
type FieldProblem = { field: string; message: string };

/** Free-text fields stored as given; null clears them. */
const TEXT_FIELDS = [
  'middleName',
  'secondaryLanguage',
  'email',
  'secondaryEmail',
  'phone',
  'secondaryPhone',
  'nric',
  'country',
  'state',
  'city',
  'zip',
  'addressLine1',
  'addressLine2',
] as const;

/** What Welkin returns for a patient created with only its names (reference D.1). */
export function blankPatient(): Omit<Patient, 'id' | 'createdAt' | 'updatedAt' | 'firstName' | 'lastName'> {
  return {
    externalGuid: null,
    externalId: null,
    mrn: null,
    nric: null,
    accessCode: null,
    createdBy: '',
    updatedBy: '',
    createdByName: '',
    updatedByName: '',
    middleName: null,
    birthDate: null,
    gender: 'UNKNOWN',
    maritalStatus: 'UKN',
    primaryLanguage: 'ENGLISH',
    secondaryLanguage: null,
    email: null,
    secondaryEmail: null,
    phone: null,
    secondaryPhone: null,
    primaryPhoneCapabilities: [],
    secondaryPhoneCapabilities: [],
    preferableInstancePhoneId: null,
    country: null,
    state: null,
    city: null,
    zip: null,
    addressLine1: null,
    addressLine2: null,
    timezone: null,
    patientTerritories: [],
    careTeamMembers: [],
    patientPrograms: [],
    careTeam: [],
    cadence: [],
    patientRegion: null,
    patientRegionTitle: null,
    patientTerritory: null,
    pointOfContact: null,
  };
}

/**
 * A birth date is a calendar date, so the date is taken as written, before any time or offset: converting
 * `1990-05-01T23:00:00-05:00` to UTC would move the birthday. Returned as Welkin does, midnight UTC.
 */
function parseBirthDate(value: string): string | undefined {
  if (value.length > 10 && Number.isNaN(Date.parse(value))) return undefined;
  const [y = 0, m = 0, d = 0] = value.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  return real && y >= 1800 ? date.toISOString() : undefined;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The care team a change sets, if any. The Python client may send back a whole patient object, whose `careTeam`
 * is `[]` while `careTeamMembers` holds the team; so an empty `careTeam` gives way to `careTeamMembers`.
 */
function requestedTeam(input: PatientPatch): CareTeamInput[] | undefined {
  const { careTeam, careTeamMembers } = input;
  if (careTeam && careTeam.length > 0) return careTeam;
  if (careTeamMembers !== undefined) return careTeamMembers ?? [];
  if (careTeam !== undefined) return careTeam ?? [];
  return undefined;
}

/** One entry per user, exactly one point of contact: the first member marked as such, else the first member. */
function normaliseTeam(team: CareTeamInput[]): CareTeamMember[] {
  const unique = team.filter((m, i) => team.findIndex((o) => o.id === m.id) === i);
  const contact = Math.max(
    0,
    unique.findIndex((m) => m.pointOfContact === true),
  );
  return unique.map((m, i) => ({ id: m.id, pointOfContact: i === contact }));
}

/**
 * Turns a validated create or patch body into the fields it changes: read-only fields are dropped, null restores
 * a default where the field has one, and derived fields (region, point of contact) follow their source.
 */
export function changesOf(input: PatientPatch): Changes {
  const out: Changes = {};
  const problems: FieldProblem[] = [];
  if (input.firstName !== undefined) out.firstName = input.firstName;
  if (input.lastName !== undefined) out.lastName = input.lastName;
  for (const key of TEXT_FIELDS) {
    const value = input[key];
    if (value !== undefined) out[key] = value;
  }
  if (input.gender !== undefined) out.gender = input.gender ?? 'UNKNOWN';
  if (input.maritalStatus !== undefined) out.maritalStatus = input.maritalStatus ?? 'UKN';
  if (input.primaryLanguage !== undefined) out.primaryLanguage = input.primaryLanguage ?? 'ENGLISH';
  // "" would make every patient without the identifier collide with every other: it means "none".
  for (const field of ['mrn', 'externalId', 'externalGuid'] as const) {
    const value = input[field];
    if (value !== undefined) out[field] = value || null;
  }
  // Welkin hands out UUIDs in lower case; lookups by EGUID normalise the same way.
  if (out.externalGuid) out.externalGuid = out.externalGuid.toLowerCase();
  if (input.birthDate !== undefined) {
    const date = input.birthDate === null ? null : parseBirthDate(input.birthDate);
    if (date === undefined) problems.push({ field: 'birthDate', message: 'is not a valid date' });
    else out.birthDate = date;
  }
  if (input.timezone !== undefined) {
    if (input.timezone && !isTimeZone(input.timezone)) {
      problems.push({ field: 'timezone', message: 'is not a known IANA time zone' });
    } else out.timezone = input.timezone;
  }
  if (input.patientTerritories !== undefined) {
    const territories = input.patientTerritories ?? [];
    out.patientTerritories = territories;
    out.patientRegion = territories[0]?.name ?? null;
    out.patientTerritory = territories[0]?.territories[0] ?? null;
  }
  const team = requestedTeam(input);
  if (team !== undefined) {
    out.careTeamMembers = normaliseTeam(team);
    out.pointOfContact = out.careTeamMembers.find((m) => m.pointOfContact) ?? null;
  }
  if (problems.length > 0) {
    throw invalidFields(problems);
  }
  return out;
}
