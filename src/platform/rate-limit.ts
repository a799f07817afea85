// Rate limits through rate-limiter-flexible: in memory on one node, in Redis (shared by every node) when
// KITH_REDIS_URL is set, falling back to memory if Redis stops answering.
import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';

export interface LimitRule {
  /** Distinguishes limiters sharing one store. */
  name: string;
  points: number;
  windowSeconds: number;
  blockSeconds: number;
}

/** What counting one hit found. */
export interface Consumed {
  /** False when the key had already used up its points (the hit is refused). */
  allowed: boolean;
  /** Points left to the key after this hit. */
  remaining: number;
  /** Until the key's count starts again. */
  msBeforeNext: number;
}

export interface RateLimits {
  /** Counts one hit; returns the seconds to wait when the key is (now) blocked, else undefined. */
  hit(rule: LimitRule, key: string): Promise<number | undefined>;
  /** Counts one hit and says what is left; for limits that report themselves (RateLimit-* headers). */
  consume(rule: LimitRule, key: string): Promise<Consumed>;
  /** Returns the seconds to wait when the key has used up its points, without counting a hit. */
  exhausted(rule: LimitRule, key: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export function createRateLimits(redisUrl: string | undefined, keyPrefix = 'kith'): RateLimits {
  const redis = redisUrl
    ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : undefined;
  // A Redis outage must not take token issuance down; the insurance limiter keeps a per-node limit meanwhile.
  redis?.on('error', () => undefined);
  const limiters = new Map<string, RateLimiterAbstract>();

  function limiter(rule: LimitRule): RateLimiterAbstract {
    let l = limiters.get(rule.name);
    if (!l) {
      const options = {
        keyPrefix: `${keyPrefix}:${rule.name}`,
        points: rule.points,
        duration: rule.windowSeconds,
        blockDuration: rule.blockSeconds,
      };
      l = redis
        ? new RateLimiterRedis({
            ...options,
            storeClient: redis,
            insuranceLimiter: new RateLimiterMemory(options),
          })
        : new RateLimiterMemory(options);
      limiters.set(rule.name, l);
    }
    return l;
  }

  const retryAfter = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

  return {
    async hit(rule, key) {
      try {
        await limiter(rule).consume(key);
        return undefined;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return retryAfter(rejection);
        throw rejection;
      }
    },
    async consume(rule, key) {
      try {
        const res = await limiter(rule).consume(key);
        return { allowed: true, remaining: res.remainingPoints, msBeforeNext: res.msBeforeNext };
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, remaining: 0, msBeforeNext: rejection.msBeforeNext };
      }
    },
    async exhausted(rule, key) {
      const res = await limiter(rule).get(key);
      return res && res.consumedPoints >= rule.points ? retryAfter(res) : undefined;
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
