import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';

// Hashing both sides gives equal-length buffers, so the comparison is constant-time.
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether a presented secret is the expected one (ADMIN_TOKEN, …), compared in constant time. */
export function matchesSecret(secret: string): (presented: string) => boolean {
  const expected = digest(secret);
  return (presented) => timingSafeEqual(digest(presented), expected);
}
export { matchesSecret as isAdminToken };

/**
 * Admin routes: `Authorization: Bearer $ADMIN_TOKEN` for tools, and, where `allowBasic` is set
 * (the Bull Board pages a browser opens), Basic auth with any user name and the token as password.
 */
export function adminAuth(
  adminToken: string,
  options: { allowBasic?: boolean } = {},
): RequestHandler {
  const isAdmin = matchesSecret(adminToken);
  return (req, res, next) => {
    const [scheme = '', credentials = ''] = (req.get('authorization') ?? '').split(' ', 2);
    const kind = scheme.toLowerCase();
    const basic = options.allowBasic === true && kind === 'basic';
    // A browser asks again only on a 401 carrying this header, so wrong Basic credentials get it.
    const challenge = () => {
      if (options.allowBasic) res.setHeader('WWW-Authenticate', 'Basic realm="cine-admin"');
    };
    let presented: string | undefined;
    if (kind === 'bearer' && credentials) presented = credentials;
    else if (basic) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) presented = decoded.slice(colon + 1);
    }
    if (presented === undefined) {
      challenge();
      throw new AppError(401, 'UNAUTHENTICATED', 'This route needs the admin token.');
    }
    if (!isAdmin(presented)) {
      if (basic) {
        challenge();
        throw new AppError(401, 'UNAUTHENTICATED', 'The admin credentials are not valid.');
      }
      throw new AppError(403, 'FORBIDDEN', 'The admin token is not valid.');
    }
    next();
  };
}

/**
 * The API's /metrics: `Authorization: Bearer $METRICS_TOKEN`, a scraper's own secret, so the
 * admin's never sits in a scraper's configuration. Unset, a random secret nobody holds stands
 * in: every request is refused the same way (401) and in the same time as a wrong token, so a
 * caller learns nothing about whether scraping is configured.
 */
export function metricsAuth(metricsToken: string | null): RequestHandler {
  const isMetricsToken = matchesSecret(metricsToken ?? randomBytes(32).toString('hex'));
  return (req, res, next) => {
    const [scheme = '', credentials = ''] = (req.get('authorization') ?? '').split(' ', 2);
    if (scheme.toLowerCase() !== 'bearer' || !isMetricsToken(credentials)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new AppError(401, 'UNAUTHENTICATED', 'This route needs the metrics token.');
    }
    next();
  };
}
