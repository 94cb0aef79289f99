import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import { ROOM_LIMITS } from '../../shared/catalogue/seat-layout';
import type { RouteSpec } from '../http/route';
import { errorResponse, text, uuid } from '../http/schemas';

const roomView = Joi.object({
  id: uuid(),
  name: Joi.string(),
  rows: Joi.number().integer(),
  seatsPerRow: Joi.number().integer(),
  seatsTotal: Joi.number().integer(),
}).label('Room');

const createRoomBody = Joi.object({
  name: text(100).required(),
  rows: Joi.number().integer().min(1).max(ROOM_LIMITS.maxRows).required(),
  seatsPerRow: Joi.number().integer().min(1).max(ROOM_LIMITS.maxSeatsPerRow).required(),
});

export function roomRoutes({ catalogue }: { catalogue: Catalogue }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/rooms',
      tag: 'Catalogue',
      summary: 'List rooms',
      responses: { 200: { description: 'Every room', schema: Joi.array().items(roomView) } },
      handler: async () => ({ status: 200, body: await catalogue.listRooms() }),
    },
    {
      method: 'post',
      path: '/api/v1/rooms',
      tag: 'Catalogue',
      summary: `Add a room (admin): at least ${ROOM_LIMITS.minSeats} seats, up to ${ROOM_LIMITS.maxRows} rows × ${ROOM_LIMITS.maxSeatsPerRow} seats`,
      auth: 'admin',
      body: createRoomBody,
      responses: {
        201: { description: 'The new room', schema: roomView },
        400: errorResponse('VALIDATION_FAILED or ROOM_TOO_SMALL'),
        409: errorResponse('ROOM_NAME_TAKEN'),
      },
      handler: async ({ body }) => ({ status: 201, body: await catalogue.createRoom(body) }),
    },
  ];
}
