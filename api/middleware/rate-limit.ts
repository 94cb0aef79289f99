import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../shared/config';
import { AppError } from '../../shared/errors';
import type { RedisClient } from '../../shared/redis';

/**
 * A budget of `points` requests per key per window, counted in Redis so that every API instance
 * shares it (a client cannot spread a sweep across instances); undefined when the limit is 0 (off).
 */
function budget(redis: RedisClient, keyPrefix: string, points: number, windowSeconds: number) {
  return points > 0
    ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: windowSeconds })
    : undefined;
}

type Budget = ReturnType<typeof budget>;

/**
 * Spends one point of each budget (that is on) on its key (where the request has one), all at
 * once; the first one exhausted refuses the request with 429 RATE_LIMITED and when to come back
 * (Retry-After).
 */
async function spend(checks: [Budget, string | undefined][], what: string): Promise<void> {
  try {
    await Promise.all(
      checks.flatMap(([limiter, key]) =>
        limiter && key !== undefined ? [limiter.consume(key)] : [],
      ),
    );
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new AppError(429, 'RATE_LIMITED', `Too many ${what}; try again shortly.`, {
      retryAfterSeconds: retryAfter,
    });
  }
}

/** The client's address: Express's `req.ip`, which believes only the proxies TRUST_PROXY names. */
const addressOf = (req: Parameters<RequestHandler>[0]) => req.ip ?? 'unknown';

/**
 * Limits hold requests per signed-in buyer and per client address. A limit of 0 is off. It runs
 * after authentication: a request refused there spends nobody's budget, and a body cannot name
 * whose budget to spend. The seed routes, which have no signed-in buyer (and exist only in
 * development), are limited per address alone. With both limits off it is no middleware at all,
 * rather than one that runs on every hold to do nothing.
 */
export function holdRateLimit(redis: RedisClient, limits: Config['rateLimit']): RequestHandler[] {
  const perUser = budget(redis, 'rl:hold:user', limits.perUser, limits.windowSeconds);
  const perIp = budget(redis, 'rl:hold:ip', limits.perIp, limits.windowSeconds);
  if (!perUser && !perIp) return [];

  const limit: RequestHandler = async (req, _res, next) => {
    const userId = req.caller?.kind === 'buyer' ? req.caller.userId : undefined;
    await spend(
      [
        [perIp, addressOf(req)],
        [perUser, userId],
      ],
      'hold requests',
    );
    next();
  };
  return [limit];
}

export interface AuthRateLimit {
  /** Per client address, before the body is even read: for sign-in, refresh and sign-up. */
  perAddress: RequestHandler[];
  /**
   * Per email (lower-cased), once the validated body names one and before any password hashing
   * or database work. Every attempt counts, right or wrong: the limit is against guessing.
   */
  perEmail(email: string): Promise<void>;
}

/** Limits sign-in, refresh and sign-up (§4.6): one budget per address, one per email. */
export function authRateLimit(redis: RedisClient, limits: Config['authRateLimit']): AuthRateLimit {
  const perIp = budget(redis, 'rl:auth:ip', limits.perIp, limits.windowSeconds);
  const perEmail = budget(redis, 'rl:auth:email', limits.perEmail, limits.windowSeconds);
  const byAddress: RequestHandler = async (req, _res, next) => {
    await spend([[perIp, addressOf(req)]], 'sign-in attempts from this address');
    next();
  };
  return {
    perAddress: perIp ? [byAddress] : [],
    perEmail: async (email) => {
      // Keyed by a digest: the budget needs to tell emails apart, not to keep them in Redis.
      if (perEmail)
        await spend(
          [[perEmail, createHash('sha256').update(email.toLowerCase()).digest('base64url')]],
          'attempts for this email',
        );
    },
  };
}
