import Joi from 'joi';
import type { BuyerAccounts } from '../../shared/auth/buyer-accounts';
import type { RouteSpec } from '../http/route';
import { asciiToken, errorResponse, secret, text } from '../http/schemas';
import { buyerOf } from '../middleware/caller-auth';
import type { AuthRateLimit } from '../middleware/rate-limit';
import { signInRefusals, userView } from './users';

const tokenPair = Joi.object({
  accessToken: Joi.string(),
  tokenType: Joi.string().valid('Bearer'),
  expiresIn: Joi.number().integer().description('Seconds the access token is valid for'),
  refreshToken: Joi.string().description('Use once, at POST /api/v1/auth/refresh'),
}).label('TokenPair');

const refreshBody = Joi.object({ refreshToken: asciiToken(200).required() });

/** Sign-in, token rotation, sign-out and "who am I" (§4.6). */
export function authRoutes({
  accounts,
  limits,
}: {
  accounts: BuyerAccounts;
  limits: AuthRateLimit;
}): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/auth/token',
      tag: 'Auth',
      summary: 'Sign in with email and password: an access token and a refresh token',
      before: limits.perAddress,
      body: Joi.object({
        // Safe text only: no email format rule, so an odd spelling is a 401 like any other.
        email: text(254).required(),
        // Any length is checked (and refused), so no rule of sign-up leaks here.
        password: secret().min(1).max(128).required(),
      }),
      responses: {
        200: { description: 'Signed in', schema: tokenPair },
        401: errorResponse(
          'INVALID_CREDENTIALS (the same for an unknown email and a wrong password)',
        ),
        ...signInRefusals,
      },
      handler: async ({ body }) => {
        await limits.perEmail(body.email);
        return {
          status: 200,
          headers: { 'Cache-Control': 'no-store' },
          body: await accounts.signIn(body.email, body.password),
        };
      },
    },
    {
      method: 'post',
      path: '/api/v1/auth/refresh',
      tag: 'Auth',
      summary: 'A new token pair for a refresh token, which is used up (rotation)',
      before: limits.perAddress,
      body: refreshBody,
      responses: {
        200: { description: 'The next pair', schema: tokenPair },
        401: errorResponse(
          "INVALID_REFRESH_TOKEN (unknown, expired, revoked, past the family's lifetime, or used before: then its whole family is revoked)",
        ),
        429: signInRefusals[429],
      },
      handler: async ({ body }) => ({
        status: 200,
        headers: { 'Cache-Control': 'no-store' },
        body: await accounts.refresh(body.refreshToken),
      }),
    },
    {
      method: 'post',
      path: '/api/v1/auth/logout',
      tag: 'Auth',
      summary: "Sign out: the caller's refresh-token family stops working",
      auth: 'buyer',
      responses: { 204: { description: 'Signed out' } },
      handler: async ({ caller }) => {
        if (caller?.kind === 'buyer') await accounts.revokeFamily(caller.familyId);
        return { status: 204 };
      },
    },
    {
      method: 'get',
      path: '/api/v1/me',
      tag: 'Auth',
      summary: 'The signed-in buyer',
      auth: 'buyer',
      responses: { 200: { description: 'You', schema: userView } },
      handler: async ({ caller }) => ({
        status: 200,
        body: await accounts.user(buyerOf(caller)),
      }),
    },
  ];
}
