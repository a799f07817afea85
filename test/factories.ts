// Builders with overrides, instead of large JSON fixtures.
import { randomBytes } from 'node:crypto';

let counter = 0;

/** A contact body for the directory (POST /{t}/{i}/contacts). */
export function contact(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  const unique = randomBytes(3).toString('hex');
  return {
    firstName: 'Robin',
    lastName: `Doe${unique}`,
    emails: [{ address: `robin.${unique}@example.com`, label: 'work' }],
    ...overrides,
  };
}

/** A patient body (POST /{t}/{i}/patients). */
export function patient(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return { firstName: 'Pat', lastName: `Ient${counter}`, ...overrides };
}
