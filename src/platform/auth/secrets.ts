// Client keys and secrets. A secret is 32 random bytes, so a single SHA-256 is a sound one-way hash for it
// (slow password hashes exist for low-entropy human passwords; they would only make token issuance slow).
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const KEY_LENGTH = 12;

/** A key shaped like Welkin's (`VBOPNRYRWJIP`): 12 capital letters, ~56 bits. */
export function generateClientKey(): string {
  let key = '';
  for (let i = 0; i < KEY_LENGTH; i++) key += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return key;
}

export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return `sha256$${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

// Compared against when the key is unknown, so that path costs what a wrong secret costs.
const DECOY_HASH = hashSecret(generateSecret());

/** Constant-time check of a secret against a stored hash (or against a decoy when there is none). */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  const expected = Buffer.from(storedHash ?? DECOY_HASH);
  const actual = Buffer.from(hashSecret(secret));
  if (expected.length !== actual.length) return false;
  return timingSafeEqual(expected, actual) && storedHash !== undefined;
}
