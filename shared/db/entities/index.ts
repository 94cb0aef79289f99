import { Movie } from './movie';
import { Order } from './order';
import { OutboxEvent } from './outbox-event';
import { Payment } from './payment';
import { ProcessedMessage } from './processed-message';
import { Receipt } from './receipt';
import { RefreshToken } from './refresh-token';
import { Room } from './room';
import { Session } from './session';
import { SessionSeat } from './session-seat';
import { Ticket } from './ticket';
import { User } from './user';

export {
  Movie,
  Order,
  OutboxEvent,
  Payment,
  ProcessedMessage,
  Receipt,
  RefreshToken,
  Room,
  Session,
  SessionSeat,
  Ticket,
  User,
};

export const entities = [
  User,
  Movie,
  Room,
  Session,
  SessionSeat,
  Order,
  Ticket,
  Payment,
  ProcessedMessage,
  OutboxEvent,
  Receipt,
  RefreshToken,
];
