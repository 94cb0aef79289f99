/**
 * Redis key layout of holds. Every key a hold script touches carries the session id as a hash
 * tag (`{sessionId}`), so on Redis Cluster all of them live in one slot and the scripts run
 * unchanged. The Lua scripts build the same names in scripts/includes/keys.lua.
 */
export const seatKey = (sessionId: string, seatId: string) => `seat:{${sessionId}}:${seatId}`;
export const holdKey = (sessionId: string, holdId: string) => `hold:{${sessionId}}:${holdId}`;
export const userSeatsKey = (sessionId: string, userId: string) =>
  `user-seats:{${sessionId}}:${userId}`;
export const eventsKey = (sessionId: string) => `events:{${sessionId}}`;
/** The session's seat change log, for live seat maps (capped; scripts/includes/common.lua). */
export const seatLogKey = (sessionId: string) => `seatlog:{${sessionId}}`;

/**
 * The session's seats row by row, as hold-best-seats.lua reads them (hold-best-seats.ts writes
 * it from the catalogue the first time a session is asked for its best seats).
 */
export const sessionLayoutKey = (sessionId: string) => `layout:{${sessionId}}`;
/**
 * The session's seat occupancy for best available: a byte per layout slot, '1' taken, '0' free,
 * 'x' no seat (scripts/includes/common.lua). hold-best-seats.lua builds it from the seat keys
 * when it is missing; every hold script keeps it up to date.
 */
export const seatOccupancyKey = (sessionId: string) => `seats-taken:{${sessionId}}`;

/**
 * The session's seat-map version: grows with every change of a seat's status, in the same step
 * (scripts/includes/common.lua); the API reuses a serialised seat map while it is unchanged.
 */
export const seatMapVersionKey = (sessionId: string) => `seatmap-version:{${sessionId}}`;

/** holdId → sessionId, so routes that name only a hold find its slot. Not touched by scripts. */
export const holdSessionKey = (holdId: string) => `hold-session:${holdId}`;
/** Every per-session event stream the relay must drain. */
export const EVENT_STREAMS_KEY = 'event-streams';

/** A seat key's value once sold (no TTL); while held it is the hold id (with a TTL). */
export const SOLD_PREFIX = 'sold:';

/**
 * The pub/sub channel settle-hold.lua publishes an order id on once its payment's outcome is
 * applied (paid, failed or declined): API processes wake requests waiting for that order.
 */
export const ORDER_SETTLED_CHANNEL = 'order-settled';

/** orderId → `<sessionId>/<holdId>` while the order is only in Redis (paying, before Postgres). */
export const orderHoldKey = (orderId: string) => `order-hold:${orderId}`;

/** Live holds of a session by expiry, for the sweep that catches a hold with no cleanup job. */
export const holdDeadlinesKey = (sessionId: string) => `hold-deadlines:{${sessionId}}`;
/** Paying holds of a session by when their payment started, for the payment reconciler. */
export const payingKey = (sessionId: string) => `paying:{${sessionId}}`;
/** The session id inside a session's event stream key (`events:{<sessionId>}`). */
export const sessionOfEventsKey = (streamKey: string) => streamKey.slice('events:{'.length, -1);

/**
 * A caller's open `Prefer: wait` reads (§4.3): a sorted set of wait ids scored by the time each
 * wait must be over, so one left behind by a process that died drops out at its own deadline.
 */
export const orderWaitsKey = (waiter: string) => `order-waits:{${waiter}}`;
