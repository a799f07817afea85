// The synthetic contacts of the benchmark dataset: varied, realistic-looking API inputs (accented names,
// companies, emails, US phones in several written forms, tags, notes, addresses), deterministic per contact
// index and seed, so every engine and every run gets the same data. Pure: turning an input into the stored row
// is the service's own code (contacts-rows.ts).
import type { ContactInput } from '../src/modules/contacts/contacts.schemas.ts';

/** mulberry32: small, fast and good enough to pick words; seeded so a dataset can be rebuilt exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed for item `index` of stream `salt` (murmur3's finaliser, so neighbouring items look unrelated). */
export function mix(index: number, salt: number): number {
  let h = Math.imul(index ^ salt, 0x9e3779b1) ^ salt;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const FIRST = (
  'Ana José María Zoë Björn Chloé François Łukasz Søren Renée Jürgen Siobhán Nuño Inês Małgorzata Åsa Noël ' +
  'Ángel Héctor Léa Mónica Raúl Sofía Tomás Zoé André Agnès Cécile Dörte Émile Gösta Hélène Íñigo Jörg Kübra ' +
  'Laëtitia Matías Niamh Oğuz Pilar Rafał Seán Thérèse Ulrike Yağmur Žofia James Mary Robert Patricia John ' +
  'Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles ' +
  'Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Steven Ashley Paul Emily Andrew Donna Joshua ' +
  'Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Wei Yuki ' +
  'Priya Arjun Fatima Omar Aisha Kwame Amara Chen Hiroshi Mei Ravi Anjali Olusegun Ngozi Dmitri Olga Ivan'
).split(' ');

const LAST = (
  'García Müller Ó\u00a0Briain Øvergaard Hernández Fernández Núñez Schäfer Dvořák Nowak Smith Johnson ' +
  'Williams Brown Jones Miller Davis Rodríguez Martínez López González Pérez Sánchez Ramírez Torres Flores ' +
  'Rivera Gómez Díaz Morales Jiménez Álvarez Romero Ruíz Gutiérrez Castillo Peña Muñoz Ibáñez Ortíz Söderberg ' +
  'Lindqvist Åkesson Jørgensen Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański Dąbrowski ' +
  'Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schröder Köhler Krüger Lefèvre Moreau Girard ' +
  'Bernard Dubois Durand Rousseau Mercier Bonnet Chevalier Gauthier Rossi Russo Ferrari Esposito Bianchi ' +
  'Romano Colombo Ricci Marino Greco Bruno Gallo Conti Costa Nguyen Tran Le Pham Kim Lee Park Choi Wang Li ' +
  'Zhang Liu Chen Yang Huang Zhao Wu Zhou Tanaka Suzuki Takahashi Watanabe Sato Patel Shah Singh Kumar Gupta ' +
  'Okafor Adeyemi Mensah Nkosi Ivanov Petrov Sokolov Popescu Nagy Horváth Kovács Novák Yılmaz Kaya Demir ' +
  'Şahin Çelik Öztürk Anderson Taylor Thomas Moore Martin Jackson Thompson White Harris Clark Lewis Walker'
)
  .split(' ')
  .map((n) => n.replace('\u00a0', ' '));

const COMPANY_HEAD = (
  'Acme Nordlicht Café\u00a0Olé Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Cyberdyne Tyrell ' +
  'Aperture Massive\u00a0Dynamic Wonka Gringotts Oscorp Blue\u00a0Sun Monarch Zeta Orbit Pinecrest Redwood ' +
  'Bluewater Silverline Northwind Southgate Eastbay Westfield Lumière Élan Zürich Québec Gdańsk São\u00a0Paulo ' +
  'Bergström Fjord Kestrel Falcon Harbor Summit Meridian Beacon Cascade Granite Willow Cedar Maple Horizon ' +
  'Quantum Vertex Apex Nimbus Atlas Helix Polaris Sierra Tundra Sahara'
)
  .split(' ')
  .map((n) => n.replace('\u00a0', ' '));
const COMPANY_TAIL = (
  'Labs|Logistik GmbH|Health|Clinic|Partners|Group|Holdings|Systems|Pharma|Médical SA|Consulting|Foods|' +
  'Industries|Care|Networks|Analytics|Dental|Insurance|Ventures|& Söhne'
).split('|');
const DOMAINS = ['gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com', 'proton.me', 'hotmail.com'];
const JOBS = (
  'Nurse|Physician|Office Manager|Engineer|Accountant|Director of Operations|Sales Manager|Pharmacist|' +
  'Caregiver|Social Worker|Teacher|Attorney|Consultant|Software Developer|CEO|CFO|Receptionist|Therapist|' +
  'Dietitian|Paramedic|Account Executive|Billing Specialist|Care Coordinator|Lab Technician'
).split('|');
// Skewed on purpose: a few tags are common (a tag filter then scans many rows), most are rare.
const TAGS: Array<[string, number]> = [
  ['customer', 30],
  ['newsletter', 25],
  ['vip', 8],
  ['lead', 12],
  ['supplier', 6],
  ['press', 3],
  ['board', 1],
  ['family', 5],
  ['friend', 6],
  ['emergency', 4],
  ['billing', 5],
  ['referral', 4],
  ['do-not-call', 2],
  ['spanish-speaking', 3],
  ['caregiver', 3],
  ['inactive', 5],
];
export const TAG_NAMES = TAGS.map(([t]) => t);
const TAG_WEIGHT = TAGS.reduce((n, [, w]) => n + w, 0);
const NOTE_WORDS = (
  'called about the appointment follow up next week prefers email after hours referred by doctor insurance ' +
  'renewal pending asked for a callback on monday spoke with the office left a voicemail sent brochure ' +
  'interested in the new program allergy noted speaks spanish and english meeting rescheduled invoice paid ' +
  'needs translator wheelchair access daughter handles scheduling annual review due contract signed'
).split(' ');
const CITIES: Array<[string, string, string]> = [
  ['San Francisco', 'CA', '941'],
  ['New York', 'NY', '100'],
  ['Chicago', 'IL', '606'],
  ['Austin', 'TX', '787'],
  ['Miami', 'FL', '331'],
  ['Seattle', 'WA', '981'],
  ['Boston', 'MA', '021'],
  ['Denver', 'CO', '802'],
];
const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Park Blvd', 'Elm St', 'Washington Ave'];
// Area codes in service (libphonenumber accepts exchange and line digits freely for these, with N = 2–9).
const AREA_CODES = [
  201, 202, 206, 212, 213, 214, 303, 305, 310, 312, 404, 415, 503, 512, 617, 646, 702, 713, 718, 773, 801,
  832, 917, 972,
];
const SOURCES = ['import', 'web-form', 'api', 'mobile-app', 'referral'];

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const asciiCache = new Map<string, string>();
/** A name as it appears in an email address (names repeat, so each is worked out once). */
const ascii = (s: string) => {
  let a = asciiCache.get(s);
  if (a === undefined) {
    a = s
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '');
    asciiCache.set(s, a);
  }
  return a;
};
const digits = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');

/**
 * Phone numbers come from a pool of this many distinct numbers, each always written the same way, so a number
 * shared by several contacts (a household, an office) occurs as it would in real data, and so the builder can
 * run libphonenumber once per distinct number (see contacts-rows.ts).
 */
export const PHONE_POOL = 1 << 17;

/** Pool entry `slot`: a valid US number in one of the ways people write them. */
export function phoneNumber(slot: number): string {
  const r = rng(mix(slot, 0x165667b1));
  const area = pick(r, AREA_CODES);
  const exchange = `${2 + Math.floor(r() * 8)}${digits(r, 2)}`;
  const line = digits(r, 4);
  switch (Math.floor(r() * 4)) {
    case 0:
      return `(${area}) ${exchange}-${line}`;
    case 1:
      return `${area}-${exchange}-${line}`;
    case 2:
      return `+1 ${area} ${exchange} ${line}`;
    default:
      return `${area}.${exchange}.${line}`;
  }
}

const poolPhone = (r: () => number) => phoneNumber(Math.floor(r() * PHONE_POOL));

function tags(r: () => number): string[] {
  const count = [0, 1, 1, 2, 2, 3][Math.floor(r() * 6)]!;
  const chosen = new Set<string>();
  for (let i = 0; i < count; i++) {
    let x = r() * TAG_WEIGHT;
    for (const [tag, w] of TAGS) {
      x -= w;
      if (x < 0) {
        chosen.add(tag);
        break;
      }
    }
  }
  return [...chosen];
}

export const companyName = (r: () => number) => `${pick(r, COMPANY_HEAD)} ${pick(r, COMPANY_TAIL)}`;
export { FIRST as FIRST_NAMES, LAST as LAST_NAMES };

/** The API input of contact number `index` of a dataset (what a client would POST). */
export function contactInput(index: number, seed: number): ContactInput {
  const r = rng(mix(index, seed));
  const firstName = pick(r, FIRST);
  const lastName = pick(r, LAST);
  const input: ContactInput = { firstName, lastName };
  if (r() < 0.1) input.middleName = pick(r, FIRST);
  const company = r() < 0.6 ? companyName(r) : null;
  if (company) {
    input.company = company;
    if (r() < 0.7) input.jobTitle = pick(r, JOBS);
  }
  const local = `${ascii(firstName)}.${ascii(lastName)}${r() < 0.5 ? index % 1000 : ''}`;
  const emails: ContactInput['emails'] = [];
  if (r() < 0.85) emails.push({ address: `${local}@${pick(r, DOMAINS)}`, label: 'personal' });
  if (company && r() < 0.5) emails.push({ address: `${local}@${ascii(company)}.example`, label: 'work' });
  if (emails.length) input.emails = emails;
  const phones: ContactInput['phones'] = [];
  if (r() < 0.9) phones.push({ number: poolPhone(r), label: 'mobile' });
  const second = r() < 0.3 ? poolPhone(r) : undefined;
  if (second && second !== phones[0]?.number)
    phones.push({ number: second, label: r() < 0.5 ? 'work' : 'home' });
  if (phones.length) input.phones = phones;
  const t = tags(r);
  if (t.length) input.tags = t;
  if (r() < 0.2) {
    const n = 5 + Math.floor(r() * 25);
    input.notes = Array.from({ length: n }, () => pick(r, NOTE_WORDS)).join(' ');
  }
  if (r() < 0.3) {
    const [city, state, zip] = pick(r, CITIES);
    input.addresses = [
      {
        street: `${1 + Math.floor(r() * 9999)} ${pick(r, STREETS)}`,
        city,
        state,
        postalCode: `${zip}${digits(r, 2)}`,
        country: 'US',
        label: r() < 0.7 ? 'home' : 'work',
      },
    ];
  }
  if (r() < 0.5) input.source = pick(r, SOURCES);
  if (r() < 0.2) input.externalId = `crm-${index}`;
  if (r() < 0.1) input.customFields = { segment: pick(r, ['a', 'b', 'c']), score: Math.floor(r() * 100) };
  return input;
}
