// Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of a random
// key; each delivery carries webhook-id, webhook-timestamp (Unix seconds) and webhook-signature, a space-separated
// list of `v1,<base64 HMAC-SHA256 over "id.timestamp.body">`, one per key the receiver may hold.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
/** 32 bytes: the spec asks for 24 to 64. */
const KEY_BYTES = 32;

export function newSecret(): string {
  return PREFIX + randomBytes(KEY_BYTES).toString('base64');
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three headers of one delivery, signed with every secret given (during a rotation: new and old). */
export function signatureHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => sign(secret, id, timestamp, body)).join(' '),
  };
}
