// From a contact index to the exact row Kith would store for it: the API input (contacts-data.ts) goes through the
// service's own pure functions (applyInput → rowValues, searchTerms), so the loaded data is what the API writes.
// Only the identity, timestamps and the soft-deletion are the dataset's (a contact created years ago, some edited
// since, about 5% in the trash).
import { createHash } from 'node:crypto';
import { applyInput, EMPTY_STATE, type ContactState } from '../src/modules/contacts/contacts.apply.ts';
import { sortKey, toE164, type PhoneEntry } from '../src/modules/contacts/contacts.model.ts';
import type { ContactValues } from '../src/modules/contacts/contacts.repository.ts';
import type { ContactInput } from '../src/modules/contacts/contacts.schemas.ts';
import { searchTerms, words, type SearchDocument } from '../src/modules/contacts/contacts.search.ts';
import { rowValues } from '../src/modules/contacts/contacts.service.ts';
import { contactInput, mix, rng } from './contacts-data.ts';

/** What the builder needs to know about the dataset; the same in every worker. */
export interface DatasetPlan {
  seed: number;
  /** Instance ids; the first one is the big tenant's (half of all contacts). */
  instances: string[];
  /** The API client id of each instance's tenant (createdBy / updatedBy). */
  authors: string[];
  /** Timestamps are spread over the three years before this instant (fixed, so rebuilds are identical). */
  epochMs: number;
  engine: 'sqlite' | 'postgres';
}

export interface SeedRow extends ContactValues {
  id: string;
  instance_id: string;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  version: number;
  tags: string[];
  terms: string[];
}

export const DELETED_SHARE = 0.05;
const THREE_YEARS_MS = 3 * 365 * 86_400_000;

/** Every other contact belongs to the big tenant; the others are dealt round-robin over the rest. */
export function instanceOf(index: number, plan: Pick<DatasetPlan, 'instances'>): number {
  return index % 2 === 0 ? 0 : 1 + ((index >> 1) % (plan.instances.length - 1));
}

/**
 * A version 4 UUID made from the dataset seed and the contact index (an MD5 of both), so ids are the same in
 * every rebuild and, unlike draws from a 32-bit generator, never collide.
 */
function uuid(seed: number, index: number): string {
  const h = createHash('md5').update(`${seed}:${index}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Built {
  input: ContactInput;
  state: ContactState;
  terms: string[];
}

/** The service's path, whole: what the API computes for this input. */
function serviceState(input: ContactInput): Built {
  const { state, problems } = applyInput(EMPTY_STATE, input, 'US');
  if (problems.length > 0) throw new Error(`generated contact is invalid: ${JSON.stringify(problems)}`);
  return { input, state, terms: searchTerms(state) };
}

type Values = (state: ContactState, author: string) => ContactValues;

/** The service's rowValues, with the engine's booleans. */
const serviceValues =
  (plan: DatasetPlan): Values =>
  (state, author) =>
    rowValues(state, { createdBy: author, updatedBy: author }, (b) =>
      plan.engine === 'sqlite' ? (b ? 1 : 0) : b,
    );

/** The row of contact `index`, from its state: ids, dates and deletion are drawn, the rest is `values`. */
function toRow(
  index: number,
  plan: DatasetPlan,
  built: Built,
  values: Values = serviceValues(plan),
): SeedRow {
  const slot = instanceOf(index, plan);
  // A separate stream from the input's, so changing how inputs are drawn does not move ids or dates.
  const r = rng(mix(index, plan.seed ^ 0x5bd1e995));
  const author = plan.authors[slot]!;
  const created = plan.epochMs - Math.floor(r() * THREE_YEARS_MS);
  const edited = r() < 0.4;
  const updated = edited ? created + Math.floor(r() * (plan.epochMs - created)) : created;
  const deleted = r() < DELETED_SHARE;
  const updatedAt = new Date(updated).toISOString();
  const v = values(built.state, author);
  // Written out rather than spread: one object shape for every row.
  return {
    patient_id: v.patient_id,
    company_id: v.company_id,
    relationship: v.relationship,
    is_primary: v.is_primary,
    source: v.source,
    external_id: v.external_id,
    sort_name: v.sort_name,
    sort_last: v.sort_last,
    sort_company: v.sort_company,
    doc: v.doc,
    id: uuid(plan.seed, index),
    instance_id: plan.instances[slot]!,
    created_at: new Date(created).toISOString(),
    updated_at: updatedAt,
    // A soft delete sets deleted_at and updated_at to the same instant and bumps the version.
    deleted_at: deleted ? updatedAt : null,
    version: 1 + (edited ? 1 + Math.floor(r() * 3) : 0) + (deleted ? 1 : 0),
    tags: built.state.tags,
    terms: built.terms,
  };
}

/** The reference: contact `index` built by the service's functions end to end (slow; used to check the fast path). */
export function buildRow(index: number, plan: DatasetPlan): SeedRow {
  return toRow(index, plan, serviceState(contactInput(index, plan.seed)));
}

const NO_TEXT: SearchDocument = {
  firstName: null,
  middleName: null,
  lastName: null,
  displayName: '',
  company: null,
  jobTitle: null,
  notes: null,
  emails: [],
  phones: [],
};

function memo<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) cache.set(key, (value = make()));
  return value;
}

/**
 * The same rows as buildRow, about five times faster. The service's functions cost ~300 µs per contact (mostly
 * libphonenumber and the typo forms of names), too slow for a million rows in two minutes on two cores. Names,
 * companies and pool phones repeat, so each part is computed once by the same functions on a document holding
 * only that part, and the parts are joined in the order searchTerms produces them (a Set keeps first
 * occurrences, as it does). Every `verifyEvery`-th row is also built by buildRow and must be identical.
 */
export function createRowBuilder(plan: DatasetPlan, verifyEvery = 500): (index: number) => SeedRow {
  const partTerms = (doc: Partial<SearchDocument>) => searchTerms({ ...NO_TEXT, ...doc });
  const sortKeys = new Map<string, string>();
  const sortKeyOf = (value: string | null) =>
    value === null ? sortKey(value) : memo(sortKeys, value, () => sortKey(value));
  // rowValues as written in contacts.service.ts, with each distinct sort key folded once, and the document's keys
  // written out in the state's order (an object rest copy is a slow path in V8).
  const values: Values = (state, author) => ({
    patient_id: state.patientId,
    company_id: state.companyId,
    relationship: state.relationship,
    is_primary: plan.engine === 'sqlite' ? (state.isPrimary ? 1 : 0) : state.isPrimary,
    source: state.source,
    external_id: state.externalId,
    sort_name: sortKeyOf(state.displayName),
    sort_last: sortKeyOf(state.lastName),
    sort_company: sortKeyOf(state.company),
    doc: JSON.stringify({
      firstName: state.firstName,
      middleName: state.middleName,
      lastName: state.lastName,
      displayName: state.displayName,
      displayNameExplicit: state.displayNameExplicit,
      emails: state.emails,
      phones: state.phones,
      addresses: state.addresses,
      company: state.company,
      jobTitle: state.jobTitle,
      notes: state.notes,
      avatarUrl: state.avatarUrl,
      tags: state.tags,
      customFields: state.customFields,
      createdBy: author,
      updatedBy: author,
    }),
  });
  const names = new Map<string, string[]>();
  const work = new Map<string, string[]>();
  const phones = new Map<string, { e164: string; terms: string[] }>();
  const phone = (number: string) =>
    memo(phones, number, () => {
      const e164 = toE164(number, 'US');
      if (!e164) throw new Error(`generated phone ${number} is invalid`);
      return { e164, terms: partTerms({ phones: [{ e164 }] }) };
    });

  const fast = (index: number): SeedRow => {
    const input = contactInput(index, plan.seed);
    const phoneInput = input.phones;
    // Phones are filled in below; an empty list costs applyInput nothing.
    const { state, problems } = applyInput(EMPTY_STATE, phoneInput ? { ...input, phones: [] } : input, 'US');
    if (problems.length > 0) throw new Error(`generated contact ${index} is invalid`);
    // reconcilePhones for distinct valid numbers with labels given: input order, the first one primary.
    const entries: PhoneEntry[] = (phoneInput ?? []).map((p, i) => ({
      number: p.number.trim(),
      label: p.label ?? 'other',
      primary: i === 0,
      e164: phone(p.number).e164,
    }));
    if (new Set(entries.map((e) => e.e164)).size < entries.length) {
      return toRow(index, plan, serviceState(input));
    }
    state.phones = entries;
    const { firstName, middleName, lastName, displayName, company, jobTitle, notes } = state;
    // The display name is generated from the names, so they alone are the key.
    const nameTerms = memo(names, `${firstName}|${middleName}|${lastName}`, () =>
      partTerms({ firstName, middleName, lastName, displayName }),
    );
    const workTerms = notes
      ? partTerms({ company, jobTitle, notes })
      : memo(work, `${company}|${jobTitle}`, () => partTerms({ company, jobTitle }));
    const terms = new Set<string>();
    for (const t of nameTerms) terms.add(t);
    for (const t of workTerms) terms.add(t);
    // searchTerms adds the words of each address, as they are.
    for (const { address } of state.emails) for (const w of words(address)) terms.add(w);
    for (const e of entries) for (const t of phone(e.number).terms) terms.add(t);
    return toRow(index, plan, { input, state, terms: [...terms] }, values);
  };

  return (index) => {
    const row = fast(index);
    if (index % verifyEvery === 0) {
      const reference = JSON.stringify(buildRow(index, plan));
      if (JSON.stringify(row) !== reference) {
        throw new Error(
          `fast row ${index} differs from the service's:\n${JSON.stringify(row)}\n${reference}`,
        );
      }
    }
    return row;
  };
}
