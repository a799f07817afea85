// Seed 003's rate limits: 60 creates a minute, 120 other requests a minute, per API client (or, for anonymous
// callers, per address and instance), in fixed one-minute windows of the injected clock, counted in the shared
// store (Redis when configured, so every node enforces one limit). Every answer says where the caller stands.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.ts';
import { KithError } from '../../platform/errors.ts';
import { isAnonymous, principalOf, scopeOf } from '../../platform/http/context.ts';
import type { LimitRule, RateLimits } from '../../platform/rate-limit.ts';

const WINDOW_SECONDS = 60;

// The window's index is part of each key, so a window ends when the clock says so; the store's own duration
// only has to outlive it. Nothing blocks beyond the window.
export const CREATE_LIMIT: LimitRule = {
  name: 'contacts-api-create',
  points: 60,
  windowSeconds: WINDOW_SECONDS,
  blockSeconds: 0,
};
export const GENERAL_LIMIT: LimitRule = {
  name: 'contacts-api',
  points: 120,
  windowSeconds: WINDOW_SECONDS,
  blockSeconds: 0,
};

/** Whose bucket a request counts against: its API client, or an anonymous caller's address in that instance. */
function callerKey(request: FastifyRequest): string {
  const principal = principalOf(request);
  return isAnonymous(principal)
    ? `address:${scopeOf(request).instanceId}:${request.ip}`
    : `client:${principal.clientId}`;
}

/** A route hook (it runs after the access check, which identifies the caller) that counts the request. */
export function rateLimited(limits: RateLimits, clock: Clock, rule: LimitRule) {
  const windowMs = rule.windowSeconds * 1000;
  return async function rateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const now = clock.now().getTime();
    const window = Math.floor(now / windowMs);
    const reset = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000));
    const { allowed, remaining } = await limits.consume(rule, `${window}:${callerKey(request)}`);
    const headers = {
      'ratelimit-limit': String(rule.points),
      'ratelimit-remaining': String(remaining),
      'ratelimit-reset': String(reset),
    };
    if (!allowed)
      throw new KithError('RATE_LIMIT_EXCEEDED', { headers: { ...headers, 'retry-after': String(reset) } });
    void reply.headers(headers);
  };
}
