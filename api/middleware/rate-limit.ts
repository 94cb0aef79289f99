import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../shared/config';
import { AppError } from '../../shared/errors';

/**
 * The budget key of a user id. The API accepts one UUID in several spellings (any case, with or
 * without hyphens, in braces) and Postgres reads them all as the same user, so they must share
 * one budget: otherwise re-spelling the id buys a fresh one. Anything else fails validation.
 */
const userBudgetKey = (userId: string) => userId.toLowerCase().replace(/[^0-9a-z]/g, '');

/**
 * Limits hold requests per user and per client address, counted in Redis so that every API
 * instance shares one budget (a scalper cannot spread a sweep across instances). A limit of 0
 * is off. The user is whoever the body names (`userId`, or `usuario_id` on the seed routes).
 */
export function holdRateLimit(redis: Redis, limits: Config['rateLimit']): RequestHandler {
  const limiter = (keyPrefix: string, points: number) =>
    points > 0
      ? new RateLimiterRedis({
          storeClient: redis,
          keyPrefix,
          points,
          duration: limits.windowSeconds,
        })
      : undefined;
  const perUser = limiter('rl:hold:user', limits.perUser);
  const perIp = limiter('rl:hold:ip', limits.perIp);

  return async (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = body.userId ?? body.usuario_id;
    const checks: Promise<unknown>[] = [];
    if (perIp) checks.push(perIp.consume(req.ip ?? 'unknown'));
    if (perUser && typeof user === 'string' && user.length <= 64) {
      checks.push(perUser.consume(userBudgetKey(user)));
    }
    try {
      await Promise.all(checks);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      res.setHeader('Retry-After', String(retryAfter));
      throw new AppError(429, 'RATE_LIMITED', 'Too many hold requests; try again shortly.', {
        retryAfterSeconds: retryAfter,
      });
    }
    next();
  };
}
