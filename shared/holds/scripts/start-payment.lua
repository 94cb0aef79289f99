--[[
  Starts paying for a confirmed hold: the hold becomes 'paying' and stops expiring (its seats
  and record lose their TTL) until the payment is settled by settle-hold.lua.

  Input:
    KEYS[1]   hold record       hold:{sid}:<holdId>   hash
    (seat, user-seats, hold-deadlines and paying keys are built from the hold record; same
    hash tag)

    ARGV[1]   holdId
    ARGV[2]   auth kind: 'owner' | 'user'
    ARGV[3]   owner: '<userId>:<token hash>'; user: the user id
    ARGV[4]   orderId (chosen by the caller, so a retried job is the same order)
    ARGV[5]   payment method
    ARGV[6]   gateway token (opaque; never card data)
    ARGV[7]   card last four digits, or ''
    ARGV[8]   the session's price per seat, in cents (the total is that times the hold's seats)
    ARGV[9]   payment attempt key (a hash of the request's Idempotency-Key), or '' without one

  Output:
    {'OK', createdAtMs}           now paying
    {'REPLAY', orderId}           this attempt key started order orderId before (the first
                                  request's answer was lost with its API instance): same order
    {'NOT_FOUND'}                 no such hold
    {'FORBIDDEN'}                 wrong token or not the holder
    {'EXPIRED', stage}            expired or released
    {'WRONG_STAGE', stage, orderId}  held (not confirmed yet), paying or paid

  Events: none (payment.* and order.* events are published by the payment workers)
]]
--- @include "common"

local holdKey = KEYS[1]
local holdId, authKind, authValue, orderId = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local hold = readHold(holdKey)
if not hold then return {'NOT_FOUND'} end
if not authorized(hold, authKind, authValue) then return {'FORBIDDEN'} end

-- A retry of a payment request whose answer never reached the client gets the same order,
-- whatever became of it since (paying, paid, declined), never a second one.
local attemptField = ARGV[9] ~= '' and ('attempt:' .. ARGV[9]) or nil
if attemptField then
  local startedOrder = redis.call('HGET', holdKey, attemptField)
  if startedOrder then return {'REPLAY', startedOrder} end
end

local now = nowMs()
if hold.stage == 'expired' or hold.stage == 'released' then return {'EXPIRED', hold.stage} end
if isLive(hold.stage) and now >= hold.expiresAt then return {'EXPIRED', 'expired'} end
if hold.stage ~= 'confirmed' then return {'WRONG_STAGE', hold.stage, hold.orderId or ''} end

local userKey = userSeatsKey(hold.sessionId, hold.userId)
for _, seatId in ipairs(hold.seatIds) do
  local key = seatKey(hold.sessionId, seatId)
  if redis.call('GET', key) == holdId then redis.call('PERSIST', key) end
  -- Seats being paid for still count against the user's limit, however long it takes.
  redis.call('ZADD', userKey, 'XX', '+inf', holdId .. ':' .. seatId)
end
redis.call('PERSIST', userKey)
redis.call('PERSIST', holdKey)
-- A paying hold has no deadline: its payment job, and the reconciler behind it, look after it.
redis.call('ZREM', deadlinesKey(hold.sessionId), holdId)
redis.call('ZADD', payingKey(hold.sessionId), now, holdId)
redis.call('HSET', holdKey, 'stage', 'paying', 'orderId', orderId, 'method', ARGV[5],
  'paymentToken', ARGV[6], 'cardLast4', ARGV[7], 'totalCents', tonumber(ARGV[8]) * #hold.seatIds, 'orderCreatedAt', now,
  'confirmedExpiresAt', hold.expiresAt)
if attemptField then redis.call('HSET', holdKey, attemptField, orderId) end
return {'OK', now}
