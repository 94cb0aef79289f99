import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../shared/config';
import { AppError } from '../../shared/errors';
import type { RedisClient } from '../../shared/redis';

/**
 * Limits hold requests per signed-in buyer and per client address, counted in Redis so that every
 * API instance shares one budget (a scalper cannot spread a sweep across instances). A limit of 0
 * is off. It runs after authentication: a request refused there spends nobody's budget, and a
 * body cannot name whose budget to spend. The address is Express's `req.ip`, which believes
 * `X-Forwarded-For` only from the proxies TRUST_PROXY names. The seed routes, which have no
 * signed-in buyer (and exist only in development), are limited per address alone. With both
 * limits off it is no middleware at all, rather than one that runs on every hold to do nothing.
 */
export function holdRateLimit(redis: RedisClient, limits: Config['rateLimit']): RequestHandler[] {
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
  if (!perUser && !perIp) return [];

  const limit: RequestHandler = async (req, res, next) => {
    const checks: Promise<unknown>[] = [];
    if (perIp) checks.push(perIp.consume(req.ip ?? 'unknown'));
    if (perUser && req.caller?.kind === 'buyer') checks.push(perUser.consume(req.caller.userId));
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
  return [limit];
}
