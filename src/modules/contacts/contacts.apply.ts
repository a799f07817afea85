// How a create or a PATCH turns into the contact's next state. Pure: the service supplies the current state and
// resolves references (patient, company) around it. A field absent from the input keeps its value; null clears it.
import {
  cleanText,
  generatedDisplayName,
  normalizeTags,
  reconcileEmails,
  reconcilePhones,
  type EmailEntry,
  type FieldProblem,
  type PhoneEntry,
} from './contacts.model.ts';
import { LIMITS, type ContactInput } from './contacts.schemas.ts';

export interface AddressValue {
  street: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
  label: 'home' | 'work' | 'other' | null;
}

/** Everything about a contact that its writers decide (ids, timestamps and version are the store's). */
export interface ContactState {
  patientId: string | null;
  companyId: string | null;
  firstName: string | null;
  middleName: string | null;
  lastName: string | null;
  displayName: string;
  /** True when displayName was set by a client rather than generated from the names. */
  displayNameExplicit: boolean;
  relationship: string | null;
  isPrimary: boolean;
  emails: EmailEntry[];
  phones: PhoneEntry[];
  addresses: AddressValue[];
  company: string | null;
  jobTitle: string | null;
  notes: string | null;
  avatarUrl: string | null;
  tags: string[];
  customFields: Record<string, unknown>;
  source: string | null;
  externalId: string | null;
}

export const EMPTY_STATE: ContactState = {
  patientId: null,
  companyId: null,
  firstName: null,
  middleName: null,
  lastName: null,
  displayName: '',
  displayNameExplicit: false,
  relationship: null,
  isPrimary: false,
  emails: [],
  phones: [],
  addresses: [],
  company: null,
  jobTitle: null,
  notes: null,
  avatarUrl: null,
  tags: [],
  customFields: {},
  source: null,
  externalId: null,
};

const has = <K extends keyof ContactInput>(input: ContactInput, key: K): boolean => Object.hasOwn(input, key);

function pick<K extends keyof ContactInput & keyof ContactState>(
  input: ContactInput,
  current: ContactState,
  key: K,
): string | null {
  return has(input, key) ? cleanText(input[key] as string | null) : (current[key] as string | null);
}

export function customFieldsProblem(fields: Record<string, unknown>, field = 'customFields'): FieldProblem[] {
  const size = Buffer.byteLength(JSON.stringify(fields));
  return size > LIMITS.customFieldsBytes
    ? [{ field, message: `must serialize to at most ${LIMITS.customFieldsBytes} bytes (is ${size})` }]
    : [];
}

/** The display name: the explicit one, else first + last, else the company, an email or a phone. */
function displayNameOf(state: ContactState): string {
  if (state.displayNameExplicit && state.displayName) return state.displayName;
  return (
    generatedDisplayName(state) ??
    state.company ??
    state.emails.find((e) => e.primary)?.address ??
    state.phones.find((p) => p.primary)?.e164 ??
    ''
  );
}

export function applyInput(
  current: ContactState,
  input: ContactInput,
  phoneRegion: string,
): { state: ContactState; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const explicitName = has(input, 'displayName') ? cleanText(input.displayName) : undefined;
  const next: ContactState = {
    ...current,
    patientId: has(input, 'patientId') ? (input.patientId ?? null) : current.patientId,
    companyId: has(input, 'companyId') ? (input.companyId ?? null) : current.companyId,
    firstName: pick(input, current, 'firstName'),
    middleName: pick(input, current, 'middleName'),
    lastName: pick(input, current, 'lastName'),
    displayNameExplicit: explicitName === undefined ? current.displayNameExplicit : explicitName !== null,
    displayName: explicitName ?? current.displayName,
    relationship: has(input, 'relationship') ? (input.relationship ?? null) : current.relationship,
    isPrimary: input.isPrimary ?? current.isPrimary,
    emails:
      has(input, 'emails') || has(input, 'email')
        ? reconcileEmails(input.emails ?? current.emails, input.email, problems)
        : current.emails,
    phones:
      has(input, 'phones') || has(input, 'phone')
        ? reconcilePhones(input.phones ?? current.phones, input.phone, phoneRegion, problems)
        : current.phones,
    addresses: input.addresses
      ? input.addresses.map((a) => ({
          street: cleanText(a.street),
          city: cleanText(a.city),
          state: cleanText(a.state),
          postalCode: cleanText(a.postalCode),
          country: cleanText(a.country),
          label: a.label ?? null,
        }))
      : current.addresses,
    company: pick(input, current, 'company'),
    jobTitle: pick(input, current, 'jobTitle'),
    notes: has(input, 'notes') ? input.notes?.trim() || null : current.notes,
    avatarUrl: pick(input, current, 'avatarUrl'),
    tags: input.tags ? normalizeTags(input.tags) : current.tags,
    customFields: input.customFields ?? current.customFields,
    source: pick(input, current, 'source'),
    externalId: has(input, 'externalId') ? input.externalId?.trim() || null : current.externalId,
  };
  next.displayName = displayNameOf(next);
  if (input.customFields) problems.push(...customFieldsProblem(input.customFields));
  if (!next.displayName) {
    problems.push({
      field: 'displayName',
      message: 'a contact needs a name (firstName, lastName or displayName)',
    });
  }
  if (next.patientId && !next.relationship) {
    problems.push({ field: 'relationship', message: 'is required for a contact of a patient' });
  }
  return { state: next, problems };
}
