import type { SessionLayout } from '../catalogue/catalogue';
import { seatRows, type SeatRow } from '../catalogue/seat-layout';
import { AppError } from '../errors';
import type { HoldContext } from './hold-context';
import {
  answerOf,
  holdScriptInput,
  newHold,
  openSession,
  type HoldCreated,
  type HoldSeatsDependencies,
  type NewHold,
} from './hold-seats';
import { sessionLayoutKey } from './keys';
import type { ScriptReply } from './scripts';
import type { RedisClient } from '../redis';

export interface BestSeatsRequest {
  userId: string;
  sessionId: string;
  quantity: number;
  /** One block of adjacent seats in a row (true), or the best seats even if apart. */
  together: boolean;
}

/** How long a session's layout stays in Redis after the session starts (no hold is taken then). */
const LAYOUT_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Best available (§4.8): holds the best `quantity` free seats of the session for the user, chosen
 * and held by one atomic script (scripts/hold-best-seats.lua, the choice of best-seats.ts), so
 * concurrent requests never get the same seat and never retry each other. Answers as a hold by
 * seat ids does (hold-seats.ts), Idempotency-Key included: the hold's id is derived from the
 * buyer, session, quantity, `together` and the key.
 *
 * The script reads the session's seats from Redis (layout:{sid}), not Postgres: the first request
 * that finds it missing writes it from the catalogue's cached layout and runs the script again.
 */
export async function holdBestSeats(
  { ctx, catalogue }: HoldSeatsDependencies,
  { userId, sessionId, quantity, together }: BestSeatsRequest,
  idempotencyKey?: string,
): Promise<HoldCreated> {
  const session = await openSession(ctx, catalogue, sessionId);

  const hold = newHold(
    userId,
    sessionId,
    `best/${userId}/${sessionId}/${quantity}/${together}`,
    idempotencyKey,
  );
  let reply = await pickAndHold(ctx, hold, quantity, together);
  if (reply[0] === 'NO_LAYOUT') {
    await writeSessionLayout(ctx.redis, session);
    reply = await pickAndHold(ctx, hold, quantity, together);
  }
  const noSeats = (code: string, message: string) => (rest: (string | number)[]) =>
    new AppError(409, code, message, { quantity, together, seatsAvailable: Number(rest[0]) });
  return answerOf(ctx, hold, reply, (rest) => rest.slice(1).map(String), {
    NO_SEATS_TOGETHER: noSeats(
      'NO_SEATS_TOGETHER',
      `No row has ${quantity} adjacent free seats; together: false may still find seats apart.`,
    ),
    NO_SEATS_AVAILABLE: noSeats('NO_SEATS_AVAILABLE', `Fewer than ${quantity} seats are free.`),
  });
}

/** One run of scripts/hold-best-seats.lua for `hold`: its raw reply (see the script's header). */
export function pickAndHold(
  ctx: Pick<HoldContext, 'scripts' | 'settings'>,
  hold: NewHold,
  quantity: number,
  together: boolean,
): Promise<ScriptReply> {
  const { keys, args } = holdScriptInput(ctx, hold);
  return ctx.scripts.holdBestSeats(
    [...keys, sessionLayoutKey(hold.sessionId)],
    [...args, quantity, together ? '1' : '0'],
  );
}

/**
 * The layout:{sid} hash hold-best-seats.lua reads: `rows`, the row count; `width`, the columns of
 * the widest row (shorter rows are padded with empty columns); `slot`, the length of a seat id;
 * `mids`, each row's first + last seat column (1-based; 0 for a row without seats), its middle
 * doubled;
 * one field per row ('1' is row A, nearest the screen) holding its columns left to right, one
 * slot each: a seat id, or spaces where the row has no seat (an aisle); and `@<seatId>`, the
 * seat's byte in the session's occupancy, (row - 1) × width + column - 1, which every hold
 * script uses to mark a seat taken or free. Fixed-width slots let the script cut a row into
 * seat ids without searching it.
 */
export function layoutFields(rows: readonly SeatRow[]): Record<string, string> {
  const ids = rows.flat().filter((id): id is string => id !== null);
  const slot = ids[0]?.length ?? 1;
  const odd = ids.find((id) => id.length !== slot || id.includes(' '));
  if (odd !== undefined) throw new Error(`seat id ${odd} does not fit a ${slot}-character slot`);
  const width = Math.max(1, ...rows.map((row) => row.length));
  const mids = rows.map((row) => {
    const first = row.findIndex((id) => id !== null);
    return first < 0 ? 0 : first + 1 + row.findLastIndex((id) => id !== null) + 1;
  });
  const fields: Record<string, string> = {
    rows: String(rows.length),
    width: String(width),
    slot: String(slot),
    mids: mids.join(','),
  };
  rows.forEach((row, y) => {
    const columns = Array.from({ length: width }, (_, x) => row[x] ?? null);
    fields[String(y + 1)] = columns.map((id) => id ?? ' '.repeat(slot)).join('');
    columns.forEach((id, x) => {
      if (id !== null) fields[`@${id}`] = String(y * width + x);
    });
  });
  return fields;
}

/**
 * Writes a session's layout for the script. A session's seats never change, so writers racing
 * each other write the same fields (one HSET, atomic); it expires a day after the session
 * starts, when no hold can be taken any more.
 */
export async function writeSessionLayout(
  redis: RedisClient,
  session: SessionLayout,
): Promise<void> {
  const key = sessionLayoutKey(session.id);
  const results = await redis
    .multi()
    .hset(key, layoutFields(seatRows(session.seats)))
    .pexpireat(key, Date.parse(session.startsAt) + LAYOUT_RETENTION_MS)
    .exec();
  const failed = results?.find(([err]) => err);
  if (!results || failed) throw failed?.[0] ?? new Error(`could not write ${key}`);
}
