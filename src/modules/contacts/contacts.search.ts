// What the search index holds for a contact, and how a query is read. Pure; db/search.ts stores and matches the
// terms on each engine.
//
// - Words of the names, company, job title, notes and email addresses, folded (lower case, no accents), matched
//   by prefix: "ana gar" finds "Ana García".
// - One typo in a name: each name word of 3+ letters is also stored as `_word`, and (4+ letters) as `_` + every
//   one-letter deletion of it; a query word matches when its own `_` forms meet one of those (edit distance ≤ 1).
// - Phones by their digits in E.164, national and 7-digit local form, so "+1 415-555-0001", "(415) 555-0001" and
//   "4155550001" all find the same contact.
// - The company's words again as `c_word`, so the company filter ("partial, case-insensitive": any word of the
//   company name starting with each word given) is answered by the same index.
// The instance is not a term: queries filter by the instance column, and matching a term every row of a big
// instance holds made searches 2–7× slower (docs/benchmarks.md).
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { fold } from './contacts.model.ts';

const MAX_NOTE_WORDS = 300;
const MAX_QUERY_WORDS = 8;
/** Words this long get their `_word` form; a letter deleted from one leaves at least this many. */
const FUZZY_MIN_LENGTH = 3;

export interface SearchDocument {
  firstName: string | null;
  middleName: string | null;
  lastName: string | null;
  displayName: string;
  company: string | null;
  jobTitle: string | null;
  notes: string | null;
  emails: Array<{ address: string }>;
  phones: Array<{ e164: string }>;
}

/** A term to match: exactly, or as a prefix of stored terms. */
export interface Term {
  text: string;
  prefix: boolean;
}

/** A query is a list of clauses that must all match; a clause matches when any of its terms does. */
export type SearchQuery = Term[][];

/**
 * Longer "words" (a pasted token, a base64 blob in the notes) are not indexed: nobody searches for them, and
 * PostgreSQL refuses a lexeme over 2,047 bytes, which failed the whole write.
 */
const MAX_WORD_LENGTH = 100;

export function words(text: string | null | undefined): string[] {
  return fold(text ?? '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0 && w.length <= MAX_WORD_LENGTH);
}

/** Every form with one letter removed (by code point, so letters outside the BMP stay whole). */
function deletions(word: string): string[] {
  const letters = [...word];
  return [...new Set(letters.map((_, i) => [...letters.slice(0, i), ...letters.slice(i + 1)].join('')))];
}

/**
 * `_word`, and `_` + each one-letter deletion while that leaves FUZZY_MIN_LENGTH letters: two words within one
 * edit (insertion, deletion, substitution, or a swap of neighbours) then share a form.
 */
function fuzzyForms(word: string): string[] {
  const length = [...word].length;
  if (length < FUZZY_MIN_LENGTH) return [];
  const dels = length > FUZZY_MIN_LENGTH ? deletions(word) : [];
  return [`_${word}`, ...dels.map((d) => `_${d}`)];
}

function phoneForms(e164: string): string[] {
  const digits = e164.replace(/\D/g, '');
  const national = parsePhoneNumberFromString(e164)?.nationalNumber ?? digits;
  return [digits, national, national.slice(-7)];
}

export function searchTerms(doc: SearchDocument): string[] {
  const names = [doc.firstName, doc.middleName, doc.lastName, doc.displayName].flatMap(words);
  const terms = new Set<string>([...names, ...names.flatMap(fuzzyForms)]);
  for (const w of [
    ...words(doc.company),
    ...words(doc.jobTitle),
    ...words(doc.notes).slice(0, MAX_NOTE_WORDS),
  ]) {
    terms.add(w);
  }
  for (const w of words(doc.company)) terms.add(`c_${w}`);
  for (const { address } of doc.emails) for (const w of words(address)) terms.add(w);
  for (const { e164 } of doc.phones) for (const form of phoneForms(e164)) terms.add(form);
  return [...terms];
}

/** A query that is a phone number in any common format: digits with spaces, dashes, dots, parentheses, +. */
function asPhone(query: string, region: string): Term[] | undefined {
  if (!/^[\d\s()+.-]+$/.test(query)) return undefined;
  const digits = query.replace(/\D/g, '');
  // Six digits is the shortest national number in use (Andorra, the Faroes, …).
  if (digits.length < 6) return undefined;
  const parsed = parsePhoneNumberFromString(query, region as CountryCode);
  const forms = new Set([digits]);
  if (parsed?.isPossible()) for (const f of phoneForms(parsed.number)) forms.add(f);
  return [...forms].map((text) => ({ text, prefix: true }));
}

/** The company filter as query clauses: every word given must start a word of the company name. */
export function companyClauses(companyWords: string[]): SearchQuery {
  return companyWords.slice(0, MAX_QUERY_WORDS).map((w) => [{ text: `c_${w}`, prefix: true }]);
}

/** Reads a user's query; returns undefined when it holds nothing searchable. */
export function parseQuery(query: string, region: string): SearchQuery | undefined {
  const phone = asPhone(query.trim(), region);
  if (phone) return [phone];
  const clauses = words(query)
    .slice(0, MAX_QUERY_WORDS)
    .map((w) => [{ text: w, prefix: true }, ...fuzzyForms(w).map((text) => ({ text, prefix: false }))]);
  return clauses.length > 0 ? clauses : undefined;
}
