// Property-based tests (fast-check) of the contact model's pure rules: name folding, email and phone
// normalisation, the primary email/phone kept in step with the arrays, PATCH semantics of applyInput, and the
// search terms a contact is found by. No database: everything here is a pure function.
import fc from 'fast-check';
import { getCountries, getExampleNumber, type CountryCode } from 'libphonenumber-js';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';
import { applyInput, EMPTY_STATE, type ContactState } from './contacts.apply.ts';
import {
  cleanText,
  EMAIL_LABELS,
  fold,
  generatedDisplayName,
  mergeCustomFields,
  normalizeEmail,
  normalizeTags,
  PHONE_LABELS,
  reconcileEmails,
  reconcilePhones,
  RELATIONSHIPS,
  sortKey,
  toE164,
  type EmailInput,
  type FieldProblem,
  type PhoneInput,
} from './contacts.model.ts';
import type { ContactInput } from './contacts.schemas.ts';
import { parseQuery, searchTerms, type SearchQuery } from './contacts.search.ts';

const RUNS = { numRuns: 200 };
const REGION = 'US';

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

const LOWER = [...'abcdefghijklmnopqrstuvwxyz'];
/** Letters a name is written in: ASCII, precomposed accented letters, and a few that fold to themselves. */
const NAME_CHARS = [...LOWER, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', ...'áéíóúàèñçüöøåÁÉÍÑÖÜßæ'];
const WHITESPACE = [' ', '  ', '\t', '\n', '\u00a0', '\u2003'];
/** Combining marks (accents) that may be added after any letter. */
const MARKS = ['\u0300', '\u0301', '\u0302', '\u0303', '\u0308', '\u030a', '\u0327', '\u0307'];

const nameWord = (minLength = 1, maxLength = 10) =>
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength, maxLength });

/** A realistic name: 1-3 words joined by a separator, sometimes padded with whitespace. */
const nameArb = fc
  .tuple(
    fc.array(nameWord(), { minLength: 1, maxLength: 3 }),
    fc.constantFrom(' ', '-', "'", ' - ', '\t'),
    fc.constantFrom('', ' ', '  \t'),
  )
  .map(([ws, sep, pad]) => `${pad}${ws.join(sep)}${pad}`);

/** Any text a client may send for a name-like field, blank ones included. */
const textArb = fc.oneof(
  { weight: 4, arbitrary: nameArb },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', ' a  b ', '\t') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const nullableText = fc.option(textArb, { nil: null, freq: 4 });

/** Email addresses from a small alphabet with mixed case, so case-insensitive duplicates are common. */
const emailArb = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'abAB1._+'), minLength: 1, maxLength: 4 }),
    fc.string({ unit: fc.constantFrom(...'xyXY'), minLength: 1, maxLength: 3 }),
    fc.constantFrom('com', 'ORG', 'Io'),
    fc.constantFrom('', ' '),
  )
  .map(([local, host, tld, pad]) => `${pad}${local}@${host}.${tld}${pad}`);

const emailEntryArb: fc.Arbitrary<EmailInput> = fc.record(
  { address: emailArb, label: fc.constantFrom(...EMAIL_LABELS), primary: fc.boolean() },
  { requiredKeys: ['address'] },
);

interface UsNumber {
  area: string;
  exchange: string;
  line: string;
}

/** US numbers +1 NXX NXX XXXX that libphonenumber itself considers valid. */
const usNumberArb: fc.Arbitrary<UsNumber> = fc
  .tuple(
    fc.integer({ min: 200, max: 999 }),
    fc.integer({ min: 200, max: 999 }),
    fc.integer({ min: 0, max: 9999 }),
  )
  .map(([a, e, l]) => ({ area: String(a), exchange: String(e), line: String(l).padStart(4, '0') }))
  .filter((n) => toE164(`+1${n.area}${n.exchange}${n.line}`, REGION) !== undefined);

const e164Of = (n: UsNumber) => `+1${n.area}${n.exchange}${n.line}`;

/** The ways people write the same US number. */
function usFormats({ area, exchange, line }: UsNumber): string[] {
  return [
    `+1 ${area}-${exchange}-${line}`,
    `(${area}) ${exchange}-${line}`,
    `${area}.${exchange}.${line}`,
    `${area}${exchange}${line}`,
    `+1${area}${exchange}${line}`,
    `${area} ${exchange} ${line}`,
    `1 (${area}) ${exchange}-${line}`,
    ` +1 (${area}) ${exchange} ${line} `,
  ];
}

const usPhoneArb = usNumberArb.chain((n) => fc.constantFrom(...usFormats(n)));

/** A small pool of numbers in many formats, so the same number written differently turns up often. */
const POOL = [
  { area: '415', exchange: '555', line: '0001' },
  { area: '415', exchange: '555', line: '0002' },
  { area: '212', exchange: '555', line: '0199' },
].filter((n) => toE164(e164Of(n), REGION) !== undefined);
const pooledPhoneArb = fc.constantFrom(...POOL.flatMap(usFormats));
const validPhoneArb = fc.oneof(pooledPhoneArb, usPhoneArb);

/** Letters only, or far too short: never a valid number. */
const invalidPhoneArb = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...'abcxyzABC- '), minLength: 1, maxLength: 10 }),
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 3 }),
  )
  .filter((s) => toE164(s, REGION) === undefined);

const phoneEntryArb = (numberArb: fc.Arbitrary<string>): fc.Arbitrary<PhoneInput> =>
  fc.record(
    { number: numberArb, label: fc.constantFrom(...PHONE_LABELS), primary: fc.boolean() },
    { requiredKeys: ['number'] },
  );

/** The scalar fields a patch may set to a string, clear with null, or leave out. */
const scalarPatchModel = {
  firstName: nullableText,
  middleName: nullableText,
  lastName: nullableText,
  displayName: nullableText,
  company: nullableText,
  jobTitle: nullableText,
  notes: nullableText,
  avatarUrl: fc.option(fc.constantFrom('https://example.com/a.png', ' https://x.example/b '), { nil: null }),
  source: nullableText,
  externalId: fc.option(fc.constantFrom('crm-1', ' crm-2 ', 'x'), { nil: null }),
  patientId: fc.option(fc.constantFrom('p1', 'p2'), { nil: null }),
  companyId: fc.option(fc.constantFrom('c1', 'c2'), { nil: null }),
  relationship: fc.option(fc.constantFrom(...RELATIONSHIPS), { nil: null }),
  isPrimary: fc.boolean(),
  email: fc.option(emailArb, { nil: null }),
  phone: fc.option(fc.oneof({ weight: 4, arbitrary: validPhoneArb }, invalidPhoneArb), { nil: null }),
  tags: fc.array(fc.constantFrom('vip', ' vip ', 'family', 'x'), { maxLength: 4 }),
};

const patchArb: fc.Arbitrary<ContactInput> = fc.record(scalarPatchModel, { requiredKeys: [] });

/** A create body: the patch fields plus the arrays. */
const createArb: fc.Arbitrary<ContactInput> = fc.record(
  {
    ...scalarPatchModel,
    phone: fc.option(validPhoneArb, { nil: null }),
    emails: fc.array(emailEntryArb, { maxLength: 4 }),
    phones: fc.array(phoneEntryArb(validPhoneArb), { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

/** The state of a contact created from an arbitrary body (problems or not: applyInput is total). */
const stateArb: fc.Arbitrary<ContactState> = createArb.map(
  (input) => applyInput(EMPTY_STATE, input, REGION).state,
);

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const primaries = <T extends { primary: boolean }>(list: T[]) => list.filter((e) => e.primary);
const lower = (s: string) => s.toLowerCase();
const apply = (state: ContactState, input: ContactInput) => applyInput(state, input, REGION);
const has = (input: object, key: string) => Object.hasOwn(input, key);
const codePoints = (s: string) => [...s];
/** UTF-8 byte order: how the store compares sort keys. */
const byteCompare = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** libphonenumber's example mobile number of a country (it has one for every country it knows). */
function exampleOf(country: CountryCode) {
  const example = getExampleNumber(country, examples);
  if (!example) throw new Error(`no example number for ${country}`);
  return example;
}

function searchDoc(state: ContactState) {
  return searchTerms(state);
}

/** Does some prefix term of the clause start some stored term? */
const prefixMatches = (clause: SearchQuery[number], terms: string[]) =>
  clause.some((t) => t.prefix && terms.some((s) => s.startsWith(t.text)));

/** Does some exact (non-prefix, i.e. `_` typo) term of the clause equal a stored term? */
const fuzzyMatches = (clause: SearchQuery[number], terms: string[]) =>
  clause.some((t) => !t.prefix && terms.includes(t.text));

function onlyClause(query: string): SearchQuery[number] {
  const parsed = parseQuery(query, REGION);
  expect(parsed, `parseQuery(${JSON.stringify(query)})`).toBeDefined();
  expect(parsed).toHaveLength(1);
  return parsed![0]!;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Names

describe('fold', () => {
  it('is idempotent, lower case, free of combining marks and of stray whitespace', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        const f = fold(s);
        expect(fold(f)).toBe(f);
        expect(f).toBe(f.toLowerCase());
        expect(f).not.toMatch(/\p{M}/u);
        expect(f).toBe(f.trim());
        expect(f).not.toMatch(/\s\s|[^\S ]/);
      }),
      RUNS,
    );
  });

  it('is equal for strings differing only in case, accents and whitespace', () => {
    // A base of ASCII letters and spaces, rewritten with random capitals, combining accents (sometimes composed
    // with NFC into precomposed letters) and other whitespace runs, padded at both ends.
    const charVariant = (c: string) =>
      c === ' '
        ? fc.array(fc.constantFrom(...WHITESPACE), { minLength: 1, maxLength: 3 }).map((ws) => ws.join(''))
        : fc
            .tuple(fc.boolean(), fc.array(fc.constantFrom(...MARKS), { maxLength: 2 }))
            .map(([upper, marks]) => (upper ? c.toUpperCase() : c) + marks.join(''));
    const baseAndVariant = fc.string({ unit: fc.constantFrom(...LOWER, ' '), maxLength: 20 }).chain((base) =>
      fc
        .tuple(
          fc.tuple(...codePoints(base).map(charVariant)),
          fc.constantFrom(...WHITESPACE, ''),
          fc.boolean(),
        )
        .map(([parts, pad, nfc]) => {
          const variant = `${pad}${parts.join('')}${pad}`;
          return { base, variant: nfc ? variant.normalize('NFC') : variant };
        }),
    );
    fc.assert(
      fc.property(baseAndVariant, ({ base, variant }) => {
        expect(fold(variant)).toBe(fold(base));
        expect(sortKey(variant)).toBe(sortKey(base));
      }),
      RUNS,
    );
  });

  it('folds examples', () => {
    expect(fold('  José   GARCÍA ')).toBe('jose garcia');
    expect(fold('Ångström\tÉclair')).toBe('angstrom eclair');
    expect(fold('İSTANBUL Ⅻ')).toBe('istanbul xii');
    expect(fold('Zoë')).toBe(fold('ZOE'));
  });
});

describe('cleanText', () => {
  it('is idempotent and never returns a blank string', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'binary', maxLength: 20 }), { nil: undefined }), (s) => {
        const c = cleanText(s);
        expect(cleanText(c)).toBe(c);
        if (c !== null) {
          expect(c.trim()).not.toBe('');
          expect(c).toBe(c.trim());
          expect(c).not.toMatch(/\s\s|[^\S ]/);
        }
        expect(c === null).toBe(s === undefined || s.trim() === '');
      }),
      RUNS,
    );
  });

  it('maps null, undefined and blanks to null', () => {
    expect(cleanText(null)).toBeNull();
    expect(cleanText(undefined)).toBeNull();
    expect(cleanText(' \t\n ')).toBeNull();
    expect(cleanText('  Ana \n María ')).toBe('Ana María');
  });
});

describe('sortKey', () => {
  /** Strings whose folded form is not empty and does not start with the sentinel itself. */
  const nonEmpty = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 12 })
    .filter((s) => fold(s) !== '' && !fold(s).startsWith('\u{10FFFF}'));

  it('orders as the folded values do, byte-wise', () => {
    fc.assert(
      fc.property(nonEmpty, nonEmpty, (a, b) => {
        expect(byteCompare(sortKey(a), sortKey(b))).toBe(byteCompare(fold(a), fold(b)));
        expect(byteCompare(sortKey(a), sortKey(b))).toBe(-byteCompare(sortKey(b), sortKey(a)));
      }),
      RUNS,
    );
  });

  it('sorts empty values (null, undefined, blank) last and all alike', () => {
    fc.assert(
      fc.property(nonEmpty, fc.constantFrom(null, undefined, '', '  ', '\t\n', '\u0301'), (value, empty) => {
        expect(sortKey(empty)).toBe(sortKey(null));
        expect(byteCompare(sortKey(value), sortKey(empty))).toBe(-1);
      }),
      RUNS,
    );
  });

  it('puts empty values after all others when sorted byte-wise', () => {
    fc.assert(
      fc.property(fc.array(fc.option(nameArb, { nil: null }), { minLength: 1, maxLength: 8 }), (values) => {
        const sorted = [...values].sort((a, b) => byteCompare(sortKey(a), sortKey(b)));
        const firstEmpty = sorted.findIndex((v) => fold(v ?? '') === '');
        if (firstEmpty >= 0) for (const v of sorted.slice(firstEmpty)) expect(fold(v ?? '')).toBe('');
      }),
      RUNS,
    );
  });
});

describe('generatedDisplayName', () => {
  it('is first and last name, cleaned, ignoring the middle name', () => {
    fc.assert(
      fc.property(nullableText, nullableText, nullableText, (first, middle, last) => {
        const names = {
          firstName: cleanText(first),
          middleName: cleanText(middle),
          lastName: cleanText(last),
        };
        const expected = [names.firstName, names.lastName].filter((n) => n !== null).join(' ');
        expect(generatedDisplayName(names)).toBe(expected === '' ? null : expected);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Emails

describe('normalizeEmail', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(emailArb, fc.string({ unit: 'binary', maxLength: 20 })), (s) => {
        expect(normalizeEmail(normalizeEmail(s))).toBe(normalizeEmail(s));
      }),
      RUNS,
    );
  });

  it('lower-cases the domain and keeps the local part as written', () => {
    const part = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((s) => !s.includes('@'));
    fc.assert(
      fc.property(part, part, fc.constantFrom('', ' ', '\t '), (local, domain, pad) => {
        fc.pre(local === local.trimStart() && domain === domain.trimEnd());
        expect(normalizeEmail(`${pad}${local}@${domain}${pad}`)).toBe(`${local}@${domain.toLowerCase()}`);
      }),
      RUNS,
    );
  });

  it('normalizes examples', () => {
    expect(normalizeEmail(' Ana.Garcia@ACME.Example ')).toBe('Ana.Garcia@acme.example');
    expect(normalizeEmail('"a@b"@EXAMPLE.COM')).toBe('"a@b"@example.com');
  });
});

describe('reconcileEmails', () => {
  const primaryArg = fc.option(fc.option(emailArb, { nil: null }), { nil: undefined });

  it('keeps exactly one primary when there are entries, none otherwise, and no duplicates', () => {
    fc.assert(
      fc.property(fc.array(emailEntryArb, { maxLength: 6 }), primaryArg, (entries, primary) => {
        const result = reconcileEmails(entries, primary, []);
        expect(primaries(result)).toHaveLength(result.length > 0 ? 1 : 0);
        const keys = result.map((e) => lower(e.address));
        expect(new Set(keys).size).toBe(keys.length);
        for (const e of result) expect(e.address).toBe(normalizeEmail(e.address));
      }),
      RUNS,
    );
  });

  it('makes a given primary address the primary entry', () => {
    fc.assert(
      fc.property(fc.array(emailEntryArb, { maxLength: 6 }), emailArb, (entries, primary) => {
        const result = reconcileEmails(entries, primary, []);
        expect(lower(primaries(result)[0]!.address)).toBe(lower(normalizeEmail(primary)));
      }),
      RUNS,
    );
  });

  it('removes the former primary entry when primary is null, keeping the others', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(emailArb, { minLength: 1, maxLength: 5, selector: (a) => lower(normalizeEmail(a)) }),
        fc.nat(),
        (addresses, n) => {
          const flagged = n % addresses.length;
          const entries = addresses.map((address, i) => ({ address, primary: i === flagged }));
          const result = reconcileEmails(entries, null, []);
          const kept = addresses.filter((_, i) => i !== flagged).map(normalizeEmail);
          expect(result.map((e) => e.address)).toEqual(kept);
        },
      ),
      RUNS,
    );
  });

  it('is a fixed point: its result passed back with no primary argument comes back unchanged', () => {
    fc.assert(
      fc.property(fc.array(emailEntryArb, { maxLength: 6 }), primaryArg, (entries, primary) => {
        const once = reconcileEmails(entries, primary, []);
        const problems: FieldProblem[] = [];
        expect(reconcileEmails(once, undefined, problems)).toEqual(once);
        expect(problems).toEqual([]);
      }),
      RUNS,
    );
  });

  it('keeps the flagged entry primary when addresses are distinct', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(emailArb, { minLength: 1, maxLength: 5, selector: (a) => lower(normalizeEmail(a)) }),
        fc.nat(),
        (addresses, n) => {
          const flagged = n % addresses.length;
          const entries = addresses.map((address, i) => ({ address, primary: i === flagged }));
          const result = reconcileEmails(entries, undefined, []);
          expect(primaries(result)[0]!.address).toBe(normalizeEmail(addresses[flagged]!));
        },
      ),
      RUNS,
    );
  });

  // BUG: dedupe keeps the first spelling of an address but drops the later duplicate's primary flag, so the
  // primary falls back to the first entry. Input emails [b@x.com, a@x.com, A@x.com (primary)]: expected
  // a@x.com primary, actual b@x.com.
  it('keeps the primary flag of an entry that duplicates an earlier one', () => {
    const result = reconcileEmails(
      [{ address: 'b@x.com' }, { address: 'a@x.com' }, { address: 'A@x.com', primary: true }],
      undefined,
      [],
    );
    expect(primaries(result)[0]?.address).toBe('a@x.com');
  });

  it('reports a second primary flag at its own index', () => {
    const problems: FieldProblem[] = [];
    reconcileEmails(
      [{ address: 'a@x.com' }, { address: 'b@x.com', primary: true }, { address: 'c@x.com', primary: true }],
      undefined,
      problems,
    );
    expect(problems.map((p) => p.field)).toEqual(['emails[2].primary']);
  });

  // BUG: the index in the "only one entry may be primary" problem counts entries after deduplication, so it can
  // name the wrong entry of the request. Input [a@x.com, a@x.com, b (primary), c (primary)]: expected
  // emails[3].primary, actual emails[2].primary.
  it('reports a second primary flag at its index in the request, duplicates notwithstanding', () => {
    const problems: FieldProblem[] = [];
    reconcileEmails(
      [
        { address: 'a@x.com' },
        { address: 'a@x.com' },
        { address: 'b@x.com', primary: true },
        { address: 'c@x.com', primary: true },
      ],
      undefined,
      problems,
    );
    expect(problems.map((p) => p.field)).toEqual(['emails[3].primary']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Phones

describe('toE164', () => {
  it('gives the same E.164 for every format of a US number', () => {
    fc.assert(
      fc.property(usNumberArb, (n) => {
        for (const format of usFormats(n)) expect(toE164(format, REGION), format).toBe(e164Of(n));
      }),
      RUNS,
    );
  });

  it('normalizes the documented examples', () => {
    for (const f of ['+1 415-555-0001', '(415) 555-0001', '415.555.0001', '4155550001', '+14155550001']) {
      expect(toE164(f, 'US'), f).toBe('+14155550001');
    }
    expect(toE164('+34612345678', 'US')).toBe('+34612345678');
    expect(toE164('+34612345678', 'ES')).toBe('+34612345678');
    expect(toE164('612 34 56 78', 'ES')).toBe('+34612345678');
    expect(toE164('+91-9876543210', 'US')).toBe('+919876543210');
    expect(toE164('098765 43210', 'IN')).toBe('+919876543210');
  });

  it("gives the same E.164 for every format of each country's example number, in its own region", () => {
    fc.assert(
      fc.property(fc.constantFrom(...getCountries()), (country) => {
        const example = exampleOf(country);
        for (const format of [
          example.formatNational(),
          example.formatInternational(),
          example.number,
          example.getURI(),
        ]) {
          expect(toE164(format, country), `${country} ${format}`).toBe(example.number);
        }
        // International forms do not depend on the default region.
        expect(toE164(example.formatInternational(), 'US')).toBe(example.number);
      }),
      RUNS,
    );
  });

  it('rejects letters and numbers that are too short', () => {
    fc.assert(
      fc.property(invalidPhoneArb, fc.constantFrom('US', 'ES', 'IN', 'GB'), (s, region) => {
        expect(toE164(s, region)).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe('reconcilePhones', () => {
  const primaryArg = fc.option(fc.option(validPhoneArb, { nil: null }), { nil: undefined });
  const entriesArb = fc.array(phoneEntryArb(validPhoneArb), { maxLength: 6 });

  it('keeps exactly one primary when there are entries, none otherwise, and no duplicate numbers', () => {
    fc.assert(
      fc.property(entriesArb, primaryArg, (entries, primary) => {
        const result = reconcilePhones(entries, primary, REGION, []);
        expect(primaries(result)).toHaveLength(result.length > 0 ? 1 : 0);
        const keys = result.map((p) => p.e164);
        expect(new Set(keys).size).toBe(keys.length);
        for (const p of result) expect(toE164(p.number, REGION)).toBe(p.e164);
      }),
      RUNS,
    );
  });

  it('makes a given primary number the primary entry', () => {
    fc.assert(
      fc.property(entriesArb, validPhoneArb, (entries, primary) => {
        const result = reconcilePhones(entries, primary, REGION, []);
        expect(primaries(result)[0]!.e164).toBe(toE164(primary, REGION));
      }),
      RUNS,
    );
  });

  it('removes the former primary entry when primary is null, keeping the others', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(validPhoneArb, { minLength: 1, maxLength: 5, selector: (n) => toE164(n, REGION) }),
        fc.nat(),
        (numbers, n) => {
          const flagged = n % numbers.length;
          const entries = numbers.map((number, i) => ({ number, primary: i === flagged }));
          const result = reconcilePhones(entries, null, REGION, []);
          const kept = numbers.filter((_, i) => i !== flagged).map((x) => toE164(x, REGION));
          expect(result.map((p) => p.e164)).toEqual(kept);
        },
      ),
      RUNS,
    );
  });

  it('is a fixed point: its result passed back with no primary argument comes back unchanged', () => {
    fc.assert(
      fc.property(entriesArb, primaryArg, (entries, primary) => {
        const once = reconcilePhones(entries, primary, REGION, []);
        const problems: FieldProblem[] = [];
        const again = reconcilePhones(once, undefined, REGION, problems);
        expect(again).toEqual(once);
        expect(problems).toEqual([]);
      }),
      RUNS,
    );
  });

  it('reports each invalid number as phones[i].number, at its index in the request', () => {
    const mixed = fc.array(
      fc.oneof(
        validPhoneArb.map((number) => ({ number, valid: true })),
        invalidPhoneArb.map((number) => ({ number, valid: false })),
      ),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(mixed, (items) => {
        const problems: FieldProblem[] = [];
        const result = reconcilePhones(
          items.map(({ number }) => ({ number })),
          undefined,
          REGION,
          problems,
        );
        const invalid = items.flatMap((item, i) => (item.valid ? [] : [`phones[${i}].number`]));
        expect(problems.map((p) => p.field)).toEqual(invalid);
        const validE164 = new Set(items.filter((i) => i.valid).map((i) => toE164(i.number, REGION)));
        expect(new Set(result.map((p) => p.e164))).toEqual(validE164);
      }),
      RUNS,
    );
  });

  it('reports an invalid primary phone as `phone` and leaves the list alone', () => {
    fc.assert(
      fc.property(entriesArb, invalidPhoneArb, (entries, primary) => {
        const problems: FieldProblem[] = [];
        const result = reconcilePhones(entries, primary, REGION, problems);
        expect(problems.map((p) => p.field)).toContain('phone');
        expect(result).toEqual(reconcilePhones(entries, undefined, REGION, []));
      }),
      RUNS,
    );
  });

  it('dedupes the same number written differently, keeping the first spelling', () => {
    const result = reconcilePhones(
      [{ number: '(415) 555-0001' }, { number: '+1 415-555-0001', label: 'work' }, { number: '4155550002' }],
      undefined,
      REGION,
      [],
    );
    expect(result).toEqual([
      { number: '(415) 555-0001', label: 'other', primary: true, e164: '+14155550001' },
      { number: '4155550002', label: 'other', primary: false, e164: '+14155550002' },
    ]);
  });

  // BUG: the "only one entry may be primary" index counts entries after invalid ones are dropped (and after
  // deduplication). Input phones ['abc', '4155550001' (primary), '4155550002' (primary)]: expected problems
  // ['phones[0].number', 'phones[2].primary'], actual ['phones[0].number', 'phones[1].primary'].
  it('reports a second primary flag at its index in the request, invalid entries notwithstanding', () => {
    const problems: FieldProblem[] = [];
    reconcilePhones(
      [{ number: 'abc' }, { number: '4155550001', primary: true }, { number: '4155550002', primary: true }],
      undefined,
      REGION,
      problems,
    );
    expect(problems.map((p) => p.field)).toEqual(['phones[0].number', 'phones[2].primary']);
  });

  // BUG: as for emails, a primary flag on a later duplicate (same E.164) is dropped with the duplicate.
  // Input ['4155550002', '4155550001', '+1 415-555-0001' (primary)]: expected +14155550001 primary, actual
  // +14155550002.
  it('keeps the primary flag of an entry that duplicates an earlier one', () => {
    const result = reconcilePhones(
      [{ number: '4155550002' }, { number: '4155550001' }, { number: '+1 415-555-0001', primary: true }],
      undefined,
      REGION,
      [],
    );
    expect(primaries(result)[0]?.e164).toBe('+14155550001');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. applyInput: create and PATCH semantics

/** Nullable scalars stored as cleanText of the value sent. */
const CLEANED = [
  'firstName',
  'middleName',
  'lastName',
  'company',
  'jobTitle',
  'avatarUrl',
  'source',
] as const;
/** Nullable scalars stored trimmed (notes keep their inner whitespace). */
const TRIMMED = ['notes', 'externalId'] as const;
/** Nullable scalars stored as sent. */
const VERBATIM = ['patientId', 'companyId', 'relationship'] as const;

/** The state invariants every applyInput result satisfies, whatever the input. */
function expectConsistent(state: ContactState) {
  expect(primaries(state.emails)).toHaveLength(state.emails.length > 0 ? 1 : 0);
  expect(primaries(state.phones)).toHaveLength(state.phones.length > 0 ? 1 : 0);
  expect(new Set(state.emails.map((e) => lower(e.address))).size).toBe(state.emails.length);
  expect(new Set(state.phones.map((p) => p.e164)).size).toBe(state.phones.length);
  if (!state.displayNameExplicit) {
    const generated = generatedDisplayName(state);
    if (generated !== null) expect(state.displayName).toBe(generated);
  }
  expect(state.displayName).toBe(state.displayName.trim());
}

describe('applyInput', () => {
  it('creates a consistent state from any body', () => {
    fc.assert(
      fc.property(createArb, (input) => {
        const { state, problems } = applyInput(EMPTY_STATE, input, REGION);
        expectConsistent(state);
        expect(problems.some((p) => p.field === 'displayName')).toBe(state.displayName === '');
      }),
      RUNS,
    );
  });

  it('keeps absent fields, clears null ones and cleans the values sent', () => {
    fc.assert(
      fc.property(stateArb, patchArb, (current, patch) => {
        const { state: next } = apply(current, patch);
        for (const key of CLEANED) {
          expect(next[key], key).toBe(has(patch, key) ? cleanText(patch[key]) : current[key]);
        }
        for (const key of TRIMMED) {
          expect(next[key], key).toBe(has(patch, key) ? patch[key]?.trim() || null : current[key]);
        }
        for (const key of VERBATIM) {
          expect(next[key], key).toBe(has(patch, key) ? (patch[key] ?? null) : current[key]);
        }
        expect(next.isPrimary).toBe(patch.isPrimary ?? current.isPrimary);
        expect(next.tags).toEqual(patch.tags ? normalizeTags(patch.tags) : current.tags);
        if (!has(patch, 'email')) expect(next.emails).toEqual(current.emails);
        if (!has(patch, 'phone')) expect(next.phones).toEqual(current.phones);
        expect(next.addresses).toEqual(current.addresses);
        expect(next.customFields).toEqual(current.customFields);
        if (!has(patch, 'displayName')) expect(next.displayNameExplicit).toBe(current.displayNameExplicit);
        expectConsistent(next);
      }),
      RUNS,
    );
  });

  it('changes nothing for an empty patch', () => {
    fc.assert(
      fc.property(stateArb, (current) => {
        const { state } = apply(current, {});
        expect(state).toEqual(current);
      }),
      RUNS,
    );
  });

  it('is idempotent: the same patch twice is the patch once (email/phone null aside, see below)', () => {
    const patch = patchArb.filter((p) => p.email !== null && p.phone !== null);
    fc.assert(
      fc.property(stateArb, patch, (current, p) => {
        const once = apply(current, p);
        const twice = apply(once.state, p);
        expect(twice.state).toEqual(once.state);
        expect(twice.problems).toEqual(once.problems);
      }),
      RUNS,
    );
  });

  // The documented rule (docs/contacts.md): `email: null` removes the primary entry and the next entry, if any,
  // becomes primary, so the single field always mirrors the array. A client that only uses `email` has one entry.
  it('removes the primary entry on email: null / phone: null and promotes the next one', () => {
    const current = apply(EMPTY_STATE, {
      firstName: 'Ana',
      emails: [{ address: 'a@x.com', primary: true }, { address: 'b@x.com' }],
      phones: [{ number: '4155550001', primary: true }, { number: '4155550002' }],
    }).state;
    const once = apply(current, { email: null, phone: null }).state;
    expect(once.emails).toEqual([{ address: 'b@x.com', label: 'other', primary: true }]);
    expect(once.phones.map((p) => [p.e164, p.primary])).toEqual([['+14155550002', true]]);
    const single = apply(apply(EMPTY_STATE, { firstName: 'Bo', email: 'bo@x.com' }).state, {
      email: null,
    }).state;
    expect(single.emails).toEqual([]);
  });

  it('sets the primary email and phone from email and phone, consistently with the arrays', () => {
    fc.assert(
      fc.property(stateArb, patchArb, (current, patch) => {
        const { state: next, problems } = apply(current, patch);
        if (typeof patch.email === 'string') {
          expect(lower(primaries(next.emails)[0]!.address)).toBe(lower(normalizeEmail(patch.email)));
        }
        if (typeof patch.phone === 'string') {
          const e164 = toE164(patch.phone, REGION);
          if (e164 === undefined) {
            expect(problems.map((p) => p.field)).toContain('phone');
            expect(next.phones).toEqual(current.phones);
          } else {
            expect(primaries(next.phones)[0]!.e164).toBe(e164);
          }
        }
        if (patch.email === null) {
          const former = primaries(current.emails)[0];
          if (former) expect(next.emails.map((e) => e.address)).not.toContain(former.address);
          expect(next.emails).toHaveLength(Math.max(0, current.emails.length - 1));
        }
        if (patch.phone === null) {
          const former = primaries(current.phones)[0];
          if (former) expect(next.phones.map((p) => p.e164)).not.toContain(former.e164);
          expect(next.phones).toHaveLength(Math.max(0, current.phones.length - 1));
        }
      }),
      RUNS,
    );
  });

  it('generates displayName from first and last name unless it is set, and again after displayName: null', () => {
    fc.assert(
      fc.property(stateArb, patchArb, (current, patch) => {
        const { state: next } = apply(current, patch);
        const explicit = has(patch, 'displayName') ? cleanText(patch.displayName) : undefined;
        if (explicit) {
          expect(next.displayNameExplicit).toBe(true);
          expect(next.displayName).toBe(explicit);
        } else if (explicit === null) {
          expect(next.displayNameExplicit).toBe(false);
        } else if (current.displayNameExplicit) {
          expect(next.displayName).toBe(current.displayName);
        }
        if (!next.displayNameExplicit && (next.firstName || next.lastName)) {
          expect(next.displayName).toBe([next.firstName, next.lastName].filter(Boolean).join(' '));
        }
        // Clearing the explicit name returns to the generated one.
        const cleared = apply(next, { displayName: null }).state;
        expect(cleared.displayNameExplicit).toBe(false);
        const generated = generatedDisplayName(cleared);
        if (generated !== null) expect(cleared.displayName).toBe(generated);
      }),
      RUNS,
    );
  });

  it('requires a relationship exactly when the contact belongs to a patient', () => {
    fc.assert(
      fc.property(stateArb, patchArb, (current, patch) => {
        const { state: next, problems } = apply(current, patch);
        expect(problems.some((p) => p.field === 'relationship')).toBe(
          next.patientId !== null && next.relationship === null,
        );
      }),
      RUNS,
    );
  });

  it('follows the documented examples', () => {
    const created = apply(EMPTY_STATE, {
      firstName: ' Ana ',
      lastName: 'García',
      emails: [{ address: 'ana@ACME.example', label: 'work' }],
      phone: '(415) 555-0001',
    });
    expect(created.problems).toEqual([]);
    expect(created.state).toMatchObject({
      firstName: 'Ana',
      displayName: 'Ana García',
      displayNameExplicit: false,
      emails: [{ address: 'ana@acme.example', label: 'work', primary: true }],
      phones: [{ number: '(415) 555-0001', label: 'other', primary: true, e164: '+14155550001' }],
    });
    const named = apply(created.state, { displayName: ' Dr.  Ana ' }).state;
    expect(named.displayName).toBe('Dr. Ana');
    const renamed = apply(named, { lastName: 'Pérez' }).state;
    expect(renamed.displayName).toBe('Dr. Ana');
    const generated = apply(renamed, { displayName: null }).state;
    expect(generated.displayName).toBe('Ana Pérez');
    const noNames = apply(generated, { firstName: null, lastName: null, company: 'Acme' }).state;
    expect(noNames.displayName).toBe('Acme');
    const withEmail = apply(noNames, { company: null, email: 'new@Example.com' });
    expect(withEmail.state.displayName).toBe('new@example.com');
    expect(withEmail.state.emails.map((e) => [e.address, e.primary])).toEqual([
      ['new@example.com', true],
      ['ana@acme.example', false],
    ]);
    expect(apply(EMPTY_STATE, {}).problems.map((p) => p.field)).toEqual(['displayName']);
    expect(apply(EMPTY_STATE, { firstName: 'A', patientId: 'p1' }).problems.map((p) => p.field)).toEqual([
      'relationship',
    ]);
  });
});

describe('normalizeTags and mergeCustomFields', () => {
  it('normalizeTags trims, drops blanks and duplicates, is idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('vip', ' vip', 'VIP', '', '  ', 'a b', 'x'), { maxLength: 8 }),
        (t) => {
          const n = normalizeTags(t);
          expect(normalizeTags(n)).toEqual(n);
          expect(new Set(n).size).toBe(n.length);
          for (const tag of n) expect(tag).toBe(tag.trim());
          expect(n).not.toContain('');
        },
      ),
      RUNS,
    );
  });

  it('mergeCustomFields removes null keys, sets the others and keeps the rest', () => {
    const fields = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd'),
      fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
    );
    fc.assert(
      fc.property(fields, fields, (current, patch) => {
        const merged = mergeCustomFields(current, patch);
        for (const key of new Set([...Object.keys(current), ...Object.keys(patch)])) {
          if (has(patch, key)) {
            if (patch[key] === null) expect(has(merged, key)).toBe(false);
            else expect(merged[key]).toBe(patch[key]);
          } else {
            expect(merged[key]).toBe(current[key]);
          }
        }
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Search

describe('search terms', () => {
  const namesArb = fc.record({ firstName: nameArb, lastName: nameArb });
  const rawWords = (name: string) => name.split(/[\s\-']+/).filter(Boolean);

  it('finds every word of the first and last name by each of its prefixes', () => {
    fc.assert(
      fc.property(namesArb, (names) => {
        const terms = searchDoc(apply(EMPTY_STATE, names).state);
        for (const word of [...rawWords(names.firstName), ...rawWords(names.lastName)]) {
          const chars = codePoints(word);
          for (let k = 1; k <= chars.length; k++) {
            const prefix = chars.slice(0, k).join('');
            expect(prefixMatches(onlyClause(prefix), terms), prefix).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  type Typo = 'delete' | 'insert' | 'substitute';
  function typo(word: string, kind: Typo, at: number, letter: string): string {
    const chars = codePoints(word);
    const i = at % (chars.length + (kind === 'insert' ? 1 : 0));
    if (kind === 'delete') chars.splice(i, 1);
    else if (kind === 'insert') chars.splice(i, 0, letter);
    else chars.splice(i, 1, letter);
    return chars.join('');
  }

  const typoCase = (minLength: number, kinds: Typo[]) =>
    fc.record({
      word: nameWord(minLength, 10),
      lastName: nameArb,
      kind: fc.constantFrom(...kinds),
      at: fc.nat(),
      letter: fc.constantFrom(...LOWER),
    });

  it('matches a name word of 4+ letters with one letter inserted or substituted through the _ forms', () => {
    fc.assert(
      fc.property(typoCase(4, ['insert', 'substitute']), ({ word, lastName, kind, at, letter }) => {
        const terms = searchDoc(apply(EMPTY_STATE, { firstName: word, lastName }).state);
        const stored = fold(word);
        const query = typo(stored, kind, at, letter);
        expect(fuzzyMatches(onlyClause(query), terms), `${stored} -> ${query}`).toBe(true);
      }),
      RUNS,
    );
  });

  it('matches a name word of 5+ letters with one letter deleted through the _ forms', () => {
    fc.assert(
      fc.property(typoCase(5, ['delete']), ({ word, lastName, kind, at, letter }) => {
        const terms = searchDoc(apply(EMPTY_STATE, { firstName: word, lastName }).state);
        const stored = fold(word);
        const query = typo(stored, kind, at, letter);
        expect(fuzzyMatches(onlyClause(query), terms), `${stored} -> ${query}`).toBe(true);
      }),
      RUNS,
    );
  });

  // GAP: a 4-letter name word with one letter deleted leaves a 3-letter query word, which gets no `_` forms
  // (FUZZY_MIN_LENGTH applies to the query too), so "Anna" is not found by "ana" (nor "Juan" by "jun") although the
  // module doc promises edit distance <= 1 for name words of 4+ letters. Deleting the last letter still matches
  // as a prefix.
  it('matches a 4-letter name word with one letter deleted', () => {
    const terms = searchDoc(apply(EMPTY_STATE, { firstName: 'Anna' }).state);
    const clause = onlyClause('ana');
    expect(fuzzyMatches(clause, terms) || prefixMatches(clause, terms)).toBe(true);
  });

  // BUG: deletions() walks code points but slices by UTF-16 code units, so a name word with a letter outside the
  // BMP (e.g. CJK Extension B, U+20000 𠀀) gets lone-surrogate forms and misses the deletions of its first and
  // last letters. firstName '𠀀abcd', query '𠀀abce' (one substitution): expected a `_` match through '_𠀀abc',
  // actual none.
  it('matches one typo in a name word with a letter outside the BMP', () => {
    const terms = searchDoc(apply(EMPTY_STATE, { firstName: '\u{20000}abcd' }).state);
    expect(fuzzyMatches(onlyClause('\u{20000}abce'), terms)).toBe(true);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    expect(terms.filter((t) => loneSurrogate.test(t))).toEqual([]);
  });

  it('finds a phone by every common format of it', () => {
    fc.assert(
      fc.property(usNumberArb, (n) => {
        const terms = searchDoc(apply(EMPTY_STATE, { firstName: 'Ana', phone: e164Of(n) }).state);
        for (const format of usFormats(n))
          expect(prefixMatches(onlyClause(format), terms), format).toBe(true);
        expect(prefixMatches(onlyClause(`${n.exchange}-${n.line}`), terms)).toBe(true);
      }),
      RUNS,
    );
  });

  it('finds the documented phone examples', () => {
    const formats: Array<[string, string[]]> = [
      ['+14155550001', ['+1 415-555-0001', '(415) 555-0001', '415.555.0001', '4155550001', '+14155550001']],
      ['+34612345678', ['+34612345678', '+34 612 34 56 78', '612345678']],
      ['+919876543210', ['+91-9876543210', '9876543210']],
    ];
    for (const [number, queries] of formats) {
      const terms = searchDoc(apply(EMPTY_STATE, { firstName: 'Ana', phone: number }).state);
      for (const q of queries) expect(prefixMatches(onlyClause(q), terms), `${number} by ${q}`).toBe(true);
    }
  });

  it("finds each country's example number by its national and international formats, in its region", () => {
    fc.assert(
      fc.property(fc.constantFrom(...getCountries()), (country) => {
        const example = exampleOf(country);
        const terms = searchDoc(apply(EMPTY_STATE, { firstName: 'Ana', phone: example.number }).state);
        const national = example.formatNational();
        // National numbers of 5-6 digits written with separators are read as words: see the skipped test below.
        const formats = [example.formatInternational(), example.number];
        if (national.replace(/\D/g, '').length >= 7) formats.push(national);
        for (const format of formats) {
          for (const region of [country, REGION]) {
            if (format === national && region !== country) continue;
            const parsed = parseQuery(format, region);
            expect(parsed, `${country} ${format} in ${region}`).toHaveLength(1);
            expect(prefixMatches(parsed![0]!, terms), `${country} ${format} in ${region}`).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  // Small countries have 6-digit national numbers (AD, CK, FO, GL, NC, NF, TV, WF): written with separators they
  // must still be read as one phone, not as separate words.
  it('finds a short national number written with separators', () => {
    const terms = searchDoc(apply(EMPTY_STATE, { firstName: 'Ana', phone: '+376312345' }).state);
    const parsed = parseQuery('312 345', 'AD');
    expect(parsed).toHaveLength(1);
    expect(prefixMatches(parsed![0]!, terms)).toBe(true);
  });
});
