import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Directory } from '../../shared/catalogue/directory';
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

export const userView = Joi.object({
  id: uuid(),
  name: Joi.string(),
  email: Joi.string().email(),
}).label('User');

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
  catalogue,
  directory,
}: {
  catalogue: Catalogue;
  directory: Directory;
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
        const { items, total } = await catalogue.listUsers(query.page, query.pageSize);
        return { status: 200, body: { items, page: query.page, pageSize: query.pageSize, total } };
      },
    },
    {
      method: 'post',
      path: '/api/v1/users',
      tag: 'Users',
      summary: 'Sign up (then sign in at POST /api/v1/auth/token)',
      body: signUpBody,
      responses: {
        201: { description: 'The new user', schema: userView },
        409: errorResponse('EMAIL_TAKEN'),
      },
      handler: async ({ body }) => {
        const user = await catalogue.signUp(body);
        directory.rememberUser(user.id);
        return { status: 201, body: user };
      },
    },
  ];
}
