import Joi from 'joi';
import type { BuyerAccounts } from '../../shared/auth/buyer-accounts';
import type { RouteSpec } from '../http/route';
import {
  calendarDate,
  email,
  errorResponse,
  pageQuery,
  pageView,
  secret,
  text,
  today,
  uuid,
} from '../http/schemas';
import type { AuthRateLimit } from '../middleware/rate-limit';

export const userView = Joi.object({
  id: uuid(),
  name: Joi.string(),
  email: Joi.string().email(),
}).label('User');

/** Refusals every password-hashing route may answer before it hashes anything (§4.6). */
export const signInRefusals = {
  429: errorResponse(
    'RATE_LIMITED: too many attempts from this address or for this email (with Retry-After)',
  ),
  503: errorResponse('BUSY: too many passwords being checked at this moment (with Retry-After)'),
};

/** 10 to 128 characters: long enough to resist guessing, short enough to hash cheaply. */
export const passwordSchema = () => secret().min(10).max(128);

const signUpBody = Joi.object({
  name: text(120).required(),
  email: email(254).required(),
  password: passwordSchema().required(),
  birthDate: calendarDate({ min: '1900-01-01', max: today }).messages({
    'date.max': '"birthDate" cannot be in the future',
  }),
});

export function userRoutes({
  accounts,
  limits,
}: {
  accounts: BuyerAccounts;
  limits: AuthRateLimit;
}): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/users',
      tag: 'Users',
      summary: 'List users, by name, a page at a time (admin)',
      auth: 'admin',
      query: pageQuery(100),
      responses: {
        200: { description: 'One page of users', schema: pageView(userView, 'UserPage') },
      },
      handler: async ({ query }) => {
        const { items, total } = await accounts.listUsers(query.page, query.pageSize);
        return { status: 200, body: { items, page: query.page, pageSize: query.pageSize, total } };
      },
    },
    {
      method: 'post',
      path: '/api/v1/users',
      tag: 'Users',
      summary: 'Sign up (then sign in at POST /api/v1/auth/token)',
      before: limits.perAddress,
      body: signUpBody,
      responses: {
        201: { description: 'The new user', schema: userView },
        409: errorResponse('EMAIL_TAKEN'),
        ...signInRefusals,
      },
      handler: async ({ body }) => {
        await limits.perEmail(body.email);
        return { status: 201, body: await accounts.signUp(body) };
      },
    },
  ];
}
