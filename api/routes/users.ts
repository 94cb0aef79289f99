import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Directory } from '../../shared/catalogue/directory';
import type { RouteSpec } from '../http/route';
import { calendarDate, errorResponse, uuid } from '../http/schemas';

export const userView = Joi.object({
  id: uuid(),
  name: Joi.string(),
  email: Joi.string().email(),
}).label('User');

const signUpBody = Joi.object({
  name: Joi.string().trim().min(1).max(120).required(),
  email: Joi.string().trim().email().max(254).required(),
  birthDate: calendarDate()
    .custom((value: string, helpers) =>
      value <= new Date().toISOString().slice(0, 10) ? value : helpers.error('date.max'),
    )
    .messages({ 'date.max': '"birthDate" cannot be in the future' }),
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
      summary: 'List users',
      responses: { 200: { description: 'Every user', schema: Joi.array().items(userView) } },
      handler: async () => ({ status: 200, body: await catalogue.listUsers() }),
    },
    {
      method: 'post',
      path: '/api/v1/users',
      tag: 'Users',
      summary: 'Sign up',
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
