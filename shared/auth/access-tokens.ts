import { createSecretKey } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';

/** Who a token was issued by and for: checked on every token, so one minted elsewhere is refused. */
export const TOKEN_ISSUER = 'cine-starsoft';
export const TOKEN_AUDIENCE = 'cine-starsoft-api';
/** The only algorithm accepted: a token claiming another (or `none`) is refused before anything. */
const ALGORITHM = 'HS256';
/** Verified tokens remembered per API instance (see below for what one costs). */
const VERIFIED_TOKENS_MAX = 20_000;

export interface AccessClaims {
  /** The buyer (user id). */
  sub: string;
  /** The refresh-token family this access token was issued with, so logout can end it. */
  fam: string;
}

export interface AccessTokens {
  issue(claims: AccessClaims): Promise<{ token: string; expiresIn: number }>;
  /** The claims of a valid token, or null for anything else (expired, forged, malformed). */
  verify(token: string): Promise<AccessClaims | null>;
}

/** Access tokens: short-lived JWTs signed with JWT_SECRET (jose). */
export function accessTokens(auth: Config['auth']): AccessTokens {
  // A KeyObject made once: jose then signs and verifies with node:crypto, no per-call key import.
  const key = createSecretKey(Buffer.from(auth.jwtSecret, 'utf8'));
  // A buyer sends one token with every request of a checkout: each one verified once (an HMAC
  // and two JSON parses), then known until its own expiry, never longer. Keyed by the whole
  // token, signature included, so only what was verified is ever trusted. Bounded: an entry is
  // the token (about 300 bytes) and its two ids, well under 1 KB, so 20 000 buyers active on
  // this instance cost at most some 15 MB; past that the least recent is verified again, never
  // refused. Revocation is not cached here: it is asked on every request (buyer-accounts.ts).
  const verified = new LRUCache<string, { claims: AccessClaims; expiresAt: number }>({
    max: VERIFIED_TOKENS_MAX,
  });
  return {
    async issue({ sub, fam }) {
      const token = await new SignJWT({ fam })
        .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${auth.accessTokenTtlSeconds}s`)
        .sign(key);
      return { token, expiresIn: auth.accessTokenTtlSeconds };
    },
    async verify(token) {
      const known = verified.get(token);
      if (known) return Date.now() < known.expiresAt ? known.claims : null;
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          requiredClaims: ['sub', 'exp', 'iat'],
        });
        if (typeof payload.sub !== 'string' || typeof payload.fam !== 'string') return null;
        const claims = { sub: payload.sub, fam: payload.fam };
        verified.set(token, { claims, expiresAt: payload.exp! * 1000 });
        return claims;
      } catch (err) {
        if (err instanceof errors.JOSEError) return null;
        throw err;
      }
    },
  };
}
