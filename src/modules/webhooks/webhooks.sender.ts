// One signed POST to one endpoint, and what came of it. No redirect is followed (a 3xx is a failure: following it
// would let a receiver point Kith anywhere), the whole exchange has a deadline, and at most a few KiB of the
// answer are read and kept: receivers are not trusted to be small or quick.
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { Clock } from '../../platform/clock.ts';
import { LIMITS, type AttemptResult } from './webhooks.schemas.ts';
import { signatureHeaders } from './webhooks.signing.ts';
import { DestinationGuard, RefusedDestination } from './webhooks.ssrf.ts';

const USER_AGENT = 'Kith-Webhooks/1';
const TIMEOUT_CODES = new Set([
  'UND_ERR_ABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ABORT_ERR',
]);

export interface SendResult extends AttemptResult {
  /** The first bytes of the receiver's answer (text), if it answered. */
  response: string | null;
  sentAt: string;
}

export interface Destination {
  url: string;
  /** The current secret first; during a rotation's grace period the previous one too. */
  secrets: readonly string[];
}

/** Welkin's form of an HTTP status: the reason phrase's name, e.g. 500 → INTERNAL_SERVER_ERROR. */
export function statusName(status: number | null): string | null {
  if (status === null) return null;
  const phrase = STATUS_CODES[status];
  return phrase ? phrase.toUpperCase().replace(/[^A-Z0-9]+/g, '_') : String(status);
}

async function readCapped(body: AsyncIterable<Buffer>, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early destroys the stream: the rest of a large answer is never read.
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= cap) break;
  }
  return Buffer.concat(chunks).subarray(0, cap).toString('utf8');
}

function describe(error: unknown): string {
  if (error instanceof RefusedDestination) return `destination refused: ${error.message}`;
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = (error as { code?: unknown }).code;
    // The only abort is the deadline's.
    if (error.name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code)))
      return 'timed out';
    if (cause instanceof Error) return describe(cause);
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export class WebhookSender {
  readonly guard: DestinationGuard;

  constructor(private readonly options: { clock: Clock; allowlist: readonly string[]; timeoutMs: number }) {
    this.guard = new DestinationGuard(options.allowlist, options.timeoutMs);
  }

  /** Why a URL may not be saved, or undefined (see DestinationGuard.refusal). */
  refusal(url: string): string | undefined {
    return this.guard.refusal(new URL(url));
  }

  /** POSTs `body` as message `id`; never throws: every failure is a FAILED result naming its cause. */
  async send(to: Destination, id: string, body: string): Promise<SendResult> {
    const started = performance.now();
    const now = this.options.clock.now();
    const result = (
      status: SendResult['status'],
      error: string | null,
      httpStatus: number | null = null,
      response: string | null = null,
    ): SendResult => ({
      status,
      httpStatus,
      durationMs: Math.round(performance.now() - started),
      error,
      response,
      sentAt: now.toISOString(),
    });
    const url = new URL(to.url);
    const refused = this.guard.refusal(url);
    if (refused !== undefined) return result('FAILED', `destination refused: ${url.hostname} ${refused}`);
    const timestamp = Math.floor(now.getTime() / 1000);
    try {
      const answer = await request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          ...signatureHeaders(to.secrets, id, timestamp, body),
        },
        body,
        dispatcher: this.guard.agentFor(url),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const status = answer.statusCode;
      const response = await readCapped(answer.body, LIMITS.response).catch(() => null);
      if (status >= 200 && status < 300) return result('DELIVERED', null, status, response);
      if (status >= 300 && status < 400) {
        const location = answer.headers.location;
        const where = typeof location === 'string' ? ` to ${location.slice(0, 200)}` : '';
        return result('FAILED', `redirect${where} not followed`, status, response);
      }
      return result('FAILED', `HTTP ${status}`, status, response);
    } catch (error) {
      return result('FAILED', describe(error));
    }
  }

  close(): Promise<void> {
    return this.guard.close();
  }
}
