--[[
  Settles a paying hold once its payment has an outcome.

    'paid'      the sale is committed in Postgres: every seat becomes sold:<orderId> (no TTL),
                the hold is 'paid'
    'failed'    the sale could not be committed (a seat was sold already) and was refunded:
                the seats this hold still owns are freed, the hold is 'released'
    'declined'  the payment was declined: the hold is 'confirmed' again, with its confirmed
                expiry restored (but at least ARGV[4] ms from now, so the buyer can retry)

  Input:
    KEYS[1]   hold record       hold:{sid}:<holdId>   hash
    KEYS[2]   session events    events:{sid}          stream
    (seat, user-seats, hold-deadlines, paying, layout and seats-taken keys are built from the
    hold record; same hash tag)

    ARGV[1]   holdId
    ARGV[2]   orderId the outcome is for (an outcome for another order is stale)
    ARGV[3]   outcome: 'paid' | 'failed' | 'declined'
    ARGV[4]   declined: minimum time left to retry, ms
    ARGV[5]   how long the hold record outlives its end, ms

  Output:
    {'OK', stage, expiresAtMs}    settled; stage is the hold's new stage
    {'ALREADY', stage}            this outcome was applied before (a redelivery)
    {'NOT_FOUND'}                 no such hold (its record is gone)
    {'STALE', stage, orderId}     the hold is not paying for ARGV[2]

  Events: seat.released for each seat freed ('failed'); the order and payment events are
  published from Postgres's outbox and by the payment worker. Seat log: the seats 'sold'
  ('paid') or the seats freed 'available' ('failed'); occupancy (best available) marked alike;
  seatmap-version:{sid} bumped on every outcome that changes a seat ('declined' included: its
  seats expire again).
  Pub/sub: ARGV[2] on 'order-settled' (every outcome, once), which wakes requests waiting for
  the order (GET /api/v1/orders/:orderId with Prefer: wait).
]]
--- @include "common"

-- shared/holds/keys.ts, ORDER_SETTLED_CHANNEL
local ORDER_SETTLED_CHANNEL = 'order-settled'
local holdKey, streamKey = KEYS[1], KEYS[2]
local holdId, orderId, outcome = ARGV[1], ARGV[2], ARGV[3]
local minRetryMs, retention = tonumber(ARGV[4]), tonumber(ARGV[5])

local hold = readHold(holdKey)
if not hold then return {'NOT_FOUND'} end
local settledStage = { paid = 'paid', failed = 'released', declined = 'confirmed' }
if outcome == 'declined' and hold.lastDeclinedOrderId == orderId then return {'ALREADY', hold.stage} end
if outcome ~= 'declined' and hold.orderId == orderId and hold.stage == settledStage[outcome] then
  return {'ALREADY', hold.stage}
end
if hold.stage ~= 'paying' or hold.orderId ~= orderId then
  return {'STALE', hold.stage, hold.orderId or ''}
end

local now = nowMs()
local userKey = userSeatsKey(hold.sessionId, hold.userId)
redis.call('ZREM', payingKey(hold.sessionId), holdId)

if outcome == 'declined' then
  local expiresAt = math.max(tonumber(hold.confirmedExpiresAt), now + minRetryMs)
  for _, seatId in ipairs(hold.seatIds) do
    local key = seatKey(hold.sessionId, seatId)
    if redis.call('GET', key) == holdId then redis.call('PEXPIREAT', key, expiresAt) end
    redis.call('ZADD', userKey, 'XX', expiresAt, holdId .. ':' .. seatId)
  end
  redis.call('PEXPIREAT', userKey, expiresAt + retention)
  redis.call('HSET', holdKey, 'stage', 'confirmed', 'expiresAt', expiresAt, 'lastDeclinedOrderId', orderId)
  redis.call('HDEL', holdKey, 'orderId', 'paymentToken')
  redis.call('PEXPIREAT', holdKey, expiresAt + retention)
  redis.call('ZADD', deadlinesKey(hold.sessionId), expiresAt, holdId)
  -- Still held, but its seats expire again: a cached seat map must learn the new deadline.
  bumpSeatMapVersion(hold.sessionId)
  redis.call('PUBLISH', ORDER_SETTLED_CHANNEL, orderId)
  return {'OK', 'confirmed', expiresAt}
end

local freed = {}
for _, seatId in ipairs(hold.seatIds) do
  local key = seatKey(hold.sessionId, seatId)
  local owner = redis.call('GET', key)
  if outcome == 'paid' then
    redis.call('SET', key, 'sold:' .. orderId)
  elseif owner == holdId then
    redis.call('DEL', key)
    freed[#freed + 1] = seatId
    emit(streamKey, 'seat.released', now, {
      sessionId = hold.sessionId, seatId = seatId, holdId = holdId, reason = 'payment_failed',
    })
  end
  redis.call('ZREM', userKey, holdId .. ':' .. seatId)
end
if outcome == 'paid' then
  logSeatChanges(hold.sessionId, hold.seatIds, 'sold')
  -- Taken already, unless a seat's TTL ran out while the payment was being committed.
  markSeats(hold.sessionId, hold.seatIds, '1')
else
  logSeatChanges(hold.sessionId, freed, 'available')
  markSeats(hold.sessionId, freed, '0')
end
local stage = settledStage[outcome]
redis.call('HSET', holdKey, 'stage', stage, 'endedAt', now)
redis.call('HDEL', holdKey, 'paymentToken')
redis.call('PEXPIREAT', holdKey, now + retention)
redis.call('PUBLISH', ORDER_SETTLED_CHANNEL, orderId)
return {'OK', stage, now}
