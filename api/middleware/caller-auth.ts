import type { RequestHandler } from 'express';
import type { BuyerAccounts } from '../../shared/auth/buyer-accounts';
import { AppError } from '../../shared/errors';
import { isAdminToken } from './admin-auth';

/** Who is calling, once authenticated: a signed-in buyer, or an operator with ADMIN_TOKEN. */
export type Caller = { kind: 'buyer'; userId: string; familyId: string } | { kind: 'admin' };

/** Who a route admits (§4.6). */
export type RouteAccess = 'admin' | 'buyer' | 'buyer-or-admin';

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/** header.payload.signature: anything else is not worth verifying as an access token. */
const looksLikeJwt = (token: string) => token.split('.', 4).length === 3;

const unauthenticated = (message: string) => new AppError(401, 'UNAUTHENTICATED', message);

/**
 * Authenticates `Authorization: Bearer <token>` for buyer routes: an access token (a JWT checked
 * by shared/auth/access-tokens.ts, whose family has not been revoked) makes the caller a buyer; where
 * the route also admits admins, ADMIN_TOKEN makes them one. Missing, malformed, expired or forged
 * → 401 with `WWW-Authenticate: Bearer`; a valid caller the route does not admit → 403. It runs
 * before rate limits, so a refused request spends nobody's budget.
 */
export function callerAuth(deps: {
  adminToken: string;
  accounts: Pick<BuyerAccounts, 'authenticate'>;
}): (access: Exclude<RouteAccess, 'admin'>) => RequestHandler {
  const isAdmin = isAdminToken(deps.adminToken);
  return (access) => async (req, res, next) => {
    const [scheme = '', token = ''] = (req.get('authorization') ?? '').split(' ', 2);
    const challenge = (error?: string) =>
      res.setHeader(
        'WWW-Authenticate',
        error ? `Bearer realm="cine", error="${error}"` : 'Bearer realm="cine"',
      );
    if (scheme.toLowerCase() !== 'bearer' || !token) {
      challenge();
      throw unauthenticated('Sign in first: this route needs Authorization: Bearer <accessToken>.');
    }
    // Buyers' tokens first: hashing every buyer's token to compare it with ADMIN_TOKEN would
    // cost each request a SHA-256 that only an operator's request needs.
    const claims = looksLikeJwt(token) ? await deps.accounts.authenticate(token) : null;
    if (!claims && isAdmin(token)) {
      if (access !== 'buyer-or-admin')
        throw new AppError(403, 'FORBIDDEN', 'This route is for signed-in buyers.');
      req.caller = { kind: 'admin' };
      return next();
    }
    if (!claims) {
      challenge('invalid_token');
      throw unauthenticated('The access token is not valid (expired, revoked or not ours).');
    }
    req.caller = { kind: 'buyer', userId: claims.sub, familyId: claims.fam };
    next();
  };
}

/** The signed-in buyer of a buyer-only route (the middleware above guarantees one). */
export function buyerOf(caller: Caller | undefined): string {
  if (caller?.kind !== 'buyer')
    throw new Error('route declared for buyers was reached without one');
  return caller.userId;
}
