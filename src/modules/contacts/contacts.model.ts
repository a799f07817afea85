// The contact model's rules as pure functions: display names, primary email/phone kept in step with the arrays,
// phone normalisation (libphonenumber-js, with the instance's default region), tags, sort keys. No I/O here, so
// these are what the property-based tests exercise.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { fold } from '../../platform/text.ts';

export const EMAIL_LABELS = ['work', 'personal', 'other'] as const;
export const PHONE_LABELS = ['mobile', 'work', 'home', 'other'] as const;
export const RELATIONSHIPS = [
  'SPOUSE',
  'PARTNER',
  'PARENT',
  'CHILD',
  'SIBLING',
  'GUARDIAN',
  'CAREGIVER',
  'EMERGENCY_CONTACT',
  'FRIEND',
  'REFERRING_PROVIDER',
  'PROVIDER',
  'EMPLOYER',
  'OTHER',
] as const;

export type Relationship = (typeof RELATIONSHIPS)[number];

export interface EmailEntry {
  address: string;
  label: (typeof EMAIL_LABELS)[number];
  primary: boolean;
}

export interface PhoneEntry {
  number: string;
  label: (typeof PHONE_LABELS)[number];
  primary: boolean;
  /** Read-only: the number in E.164 form. */
  e164: string;
}

export type { FieldProblem } from '../../platform/errors.ts';
import type { FieldProblem } from '../../platform/errors.ts';

export { fold };

/** Trims and collapses inner whitespace; blank becomes null. */
export function cleanText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const cleaned = value.replace(/\s+/g, ' ').trim();
  return cleaned === '' ? null : cleaned;
}

export interface NameParts {
  firstName: string | null;
  middleName: string | null;
  lastName: string | null;
}

/** The generated display name: first and last name, as the address book does ("Ana García"). */
export function generatedDisplayName(names: NameParts): string | null {
  return cleanText([names.firstName, names.lastName].filter(Boolean).join(' '));
}

export function normalizeEmail(address: string): string {
  // The domain is case-insensitive; the local part is kept as written (some servers distinguish it).
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf('@');
  return at < 0 ? trimmed : `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

/** The E.164 form of a phone number, or undefined when it is not a valid number for the region given. */
export function toE164(number: string, defaultRegion: string): string | undefined {
  const parsed = parsePhoneNumberFromString(number, defaultRegion as CountryCode);
  return parsed && parsed.isValid() ? parsed.number : undefined;
}

/**
 * Names the second entry flagged primary, by its index in the request (before duplicates or invalid entries are
 * dropped), since only one may be.
 */
function checkOnePrimary(
  entries: Array<{ primary?: boolean }>,
  field: string,
  problems: FieldProblem[],
): void {
  const flagged = entries.flatMap((e, i) => (e.primary ? [i] : []));
  if (flagged.length > 1) {
    problems.push({ field: `${field}[${flagged[1]}].primary`, message: 'only one entry may be primary' });
  }
}

/** Makes exactly one entry primary when there are entries: the one flagged, else the first. */
function onePrimary<T extends { primary: boolean }>(entries: T[]): T[] {
  const primary = Math.max(
    0,
    entries.findIndex((e) => e.primary),
  );
  return entries.map((e, i) => ({ ...e, primary: i === primary }));
}

export interface EmailInput {
  address: string;
  label?: EmailEntry['label'];
  primary?: boolean;
}

export interface PhoneInput {
  number: string;
  label?: PhoneEntry['label'];
  primary?: boolean;
}

/**
 * Merges the array and the single primary value into one consistent list: `primary` (when given) becomes the
 * primary entry, added first if the list does not hold it; `primary === null` removes the primary entry.
 */
export function reconcileEmails(
  entries: EmailInput[],
  primary: string | null | undefined,
  problems: FieldProblem[],
): EmailEntry[] {
  checkOnePrimary(entries, 'emails', problems);
  let list: EmailEntry[] = entries.map((e) => ({
    address: normalizeEmail(e.address),
    label: e.label ?? 'other',
    primary: e.primary ?? false,
  }));
  list = dedupeBy(list, (e) => e.address.toLowerCase());
  if (primary === null) list = list.filter((e) => !e.primary);
  else if (primary !== undefined) {
    const address = normalizeEmail(primary);
    const existing = list.find((e) => e.address.toLowerCase() === address.toLowerCase());
    list = existing
      ? list.map((e) => ({ ...e, primary: e === existing }))
      : [{ address, label: 'other', primary: true }, ...list.map((e) => ({ ...e, primary: false }))];
  }
  return onePrimary(list);
}

export function reconcilePhones(
  entries: PhoneInput[],
  primary: string | null | undefined,
  region: string,
  problems: FieldProblem[],
  field = 'phones',
): PhoneEntry[] {
  const parse = (number: string, path: string): PhoneEntry | undefined => {
    const e164 = toE164(number, region);
    if (!e164) {
      problems.push({ field: path, message: `is not a valid phone number (default region ${region})` });
      return undefined;
    }
    return { number: number.trim(), label: 'other', primary: false, e164 };
  };
  let list: PhoneEntry[] = entries.flatMap((e, i) => {
    const parsed = parse(e.number, `${field}[${i}].number`);
    return parsed ? [{ ...parsed, label: e.label ?? 'other', primary: e.primary ?? false }] : [];
  });
  checkOnePrimary(entries, field, problems);
  list = dedupeBy(list, (p) => p.e164);
  if (primary === null) list = list.filter((p) => !p.primary);
  else if (primary !== undefined) {
    const parsed = parse(primary, 'phone');
    if (parsed) {
      const existing = list.find((p) => p.e164 === parsed.e164);
      list = existing
        ? list.map((p) => ({ ...p, primary: p === existing }))
        : [{ ...parsed, primary: true }, ...list.map((p) => ({ ...p, primary: false }))];
    }
  }
  return onePrimary(list);
}

/** Drops later duplicates (the first spelling wins) but keeps a primary flag any of them carried. */
function dedupeBy<T extends { primary?: boolean }>(items: T[], key: (item: T) => string): T[] {
  const kept = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const first = kept.get(k);
    if (!first) kept.set(k, item);
    else if (item.primary) kept.set(k, { ...first, primary: true });
  }
  return [...kept.values()];
}

/** Trimmed, blank ones dropped, duplicates removed (first spelling kept), order preserved. */
export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ''))];
}

/** Sort keys compare byte-wise; empty values sort last in ascending order. */
export function sortKey(value: string | null | undefined): string {
  const folded = fold(value ?? '');
  return folded === '' ? '\u{10FFFF}' : folded;
}

/** Shallow merge for PATCH …/custom: a null value removes its key. */
export function mergeCustomFields(
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
