import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { RouteSpec } from '../http/route';
import { seatMapView } from './sessions';
import { userView } from './users';

/** The routes of the original seed README (§4.4), kept answering exactly as their /api/v1 twins. */
export function seedCompatRoutes({ catalogue }: { catalogue: Catalogue }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/seed/users',
      tag: 'Seed-compatible',
      summary: 'Same as GET /api/v1/users',
      responses: { 200: { description: 'Every user', schema: Joi.array().items(userView) } },
      handler: async () => ({ status: 200, body: await catalogue.listUsers() }),
    },
    {
      method: 'get',
      path: '/sessao/todas',
      tag: 'Seed-compatible',
      summary: 'Every session with its seats and their live status',
      responses: { 200: { description: 'Seat maps', schema: Joi.array().items(seatMapView) } },
      handler: async () => ({ status: 200, body: await catalogue.allSeatMaps() }),
    },
  ];
}
