// Idempotency-Key on POST and PATCH, per API client, kept 24 hours: a retry with the same request replays the
// stored status and body; the same key with another request is a 422; a retry while the first is still running is
// a 409. The key is claimed with an insert on the primary key, so of any number of concurrent retries exactly one
// runs.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import { toIso } from '../../db/values.ts';
import type { Clock } from '../clock.ts';
import { KithError } from '../errors.ts';
import { isAnonymous } from './context.ts';

const RETENTION_MS = 24 * 60 * 60 * 1000;
/** A claim this old without a response belongs to a request that died; a retry may take it over. */
const ABANDONED_MS = 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;
/** Headers replayed with a stored response. */
const KEPT_HEADERS = ['content-type', 'etag', 'location'];

interface StoredResponse {
  body: string;
  headers: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | undefined;
  }
}

export function createIdempotency(database: Database, clock: Clock) {
  const { db } = database;

  function fingerprint(request: FastifyRequest): string {
    return createHash('sha256')
      .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
      .digest('hex');
  }

  async function claim(clientId: string, key: string, print: string): Promise<boolean> {
    const now = clock.now();
    try {
      await db
        .insertInto('idempotency_keys')
        .values({
          client_id: clientId,
          key,
          fingerprint: print,
          status: null,
          response: null,
          created_at: now.toISOString(),
          expires_at: new Date(now.getTime() + RETENTION_MS).toISOString(),
        })
        .execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  function forget(clientId: string, key: string, createdAt?: string) {
    let query = db.deleteFrom('idempotency_keys').where('client_id', '=', clientId).where('key', '=', key);
    // Only the claim we looked at: never one a concurrent retry has just made.
    if (createdAt !== undefined) query = query.where('created_at', '=', createdAt);
    return query.execute();
  }

  /** Expired keys are removed now and then, on the claim path, so the table stays at a day of traffic. */
  async function sweep() {
    if (Math.random() < 0.01) {
      await db.deleteFrom('idempotency_keys').where('expires_at', '<', clock.now().toISOString()).execute();
    }
  }

  return {
    preHandler: async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      request.idempotencyKey = undefined;
      const key = request.headers['idempotency-key'];
      const principal = request.ctx.principal;
      // Anonymous callers share one identity, so one caller's key could replay another's answer: not for them.
      const keyed = key !== undefined && principal !== undefined && !isAnonymous(principal);
      if (!keyed || (request.method !== 'POST' && request.method !== 'PATCH')) return undefined;
      if (typeof key !== 'string' || !KEY.test(key)) {
        throw new KithError('VALIDATION_ERROR', {
          message: 'Idempotency-Key must be 1 to 255 printable ASCII characters',
          details: { fields: [{ field: 'Idempotency-Key', message: 'is not valid', location: 'headers' }] },
        });
      }
      const print = fingerprint(request);
      await sweep();
      for (let attempt = 0; attempt < 3; attempt++) {
        if (await claim(principal.clientId, key, print)) {
          request.idempotencyKey = key;
          return undefined;
        }
        const row = await db
          .selectFrom('idempotency_keys')
          .selectAll()
          .where('client_id', '=', principal.clientId)
          .where('key', '=', key)
          .executeTakeFirst();
        if (!row) continue;
        const createdAt = toIso(row.created_at);
        const now = clock.now().getTime();
        const expired = Date.parse(toIso(row.expires_at)) <= now;
        const abandoned = row.status === null && Date.parse(createdAt) <= now - ABANDONED_MS;
        if (expired || abandoned) {
          await forget(principal.clientId, key, createdAt);
          continue;
        }
        if (row.fingerprint !== print) throw new KithError('IDEMPOTENCY_KEY_REUSED');
        if (row.status === null) {
          throw new KithError('IDEMPOTENCY_KEY_IN_USE', { details: { startedAt: createdAt } });
        }
        const stored = JSON.parse(row.response ?? '{}') as StoredResponse;
        // Replying from a hook ends the request here; the handler never runs.
        return reply
          .code(row.status)
          .headers({ ...stored.headers, 'idempotent-replayed': 'true' })
          .send(stored.body);
      }
      throw new KithError('IDEMPOTENCY_KEY_IN_USE');
    },

    onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> => {
      const key = request.idempotencyKey;
      const principal = request.ctx?.principal;
      if (key === undefined || !principal) return;
      request.idempotencyKey = undefined;
      if (reply.statusCode >= 500) {
        // A server failure is not an answer: let the client retry with the same key.
        await forget(principal.clientId, key);
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of KEPT_HEADERS) {
        const value = reply.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      const stored: StoredResponse = { body: typeof payload === 'string' ? payload : '', headers };
      await db
        .updateTable('idempotency_keys')
        .set({ status: reply.statusCode, response: JSON.stringify(stored) })
        .where('client_id', '=', principal.clientId)
        .where('key', '=', key)
        .execute();
    },
  };
}
