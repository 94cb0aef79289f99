--[[
  "Confirm intent to buy": a held hold's clock restarts at the confirmed TTL, on the hold and on
  each of its seats.

  Input:
    KEYS[1]   hold record       hold:{sid}:<holdId>   hash
    KEYS[2]   session events    events:{sid}          stream
    (seat, user-seats and hold-deadlines keys are built from the hold record; same hash tag)

    ARGV[1]   holdId
    ARGV[2]   auth kind: 'owner' | 'user'
    ARGV[3]   owner: '<userId>:<token hash>'; user: the user id
    ARGV[4]   confirmed TTL, ms
    ARGV[5]   how long the hold record outlives its expiry, ms

  Output:
    {'OK', expiresAtMs}                 confirmed now
    {'OK', expiresAtMs, 'ALREADY'}      was confirmed already; the clock is not restarted
    {'NOT_FOUND'}                       no such hold (or its record is gone)
    {'FORBIDDEN'}                       wrong token or not the holder
    {'EXPIRED', stage}                  expired or released: the seats are gone
    {'WRONG_STAGE', stage}              paying or paid: nothing to confirm

  Events: hold.confirmed
]]
--- @include "common"

local holdKey, streamKey = KEYS[1], KEYS[2]
local holdId, authKind, authValue = ARGV[1], ARGV[2], ARGV[3]
local ttl, retention = tonumber(ARGV[4]), tonumber(ARGV[5])

local hold = readHold(holdKey)
if not hold then return {'NOT_FOUND'} end
if not authorized(hold, authKind, authValue) then return {'FORBIDDEN'} end

local now = nowMs()
if not isLive(hold.stage) and hold.stage ~= 'paying' and hold.stage ~= 'paid' then
  return {'EXPIRED', hold.stage}
end
if isLive(hold.stage) and now >= hold.expiresAt then return {'EXPIRED', 'expired'} end
if hold.stage == 'confirmed' then return {'OK', hold.expiresAt, 'ALREADY'} end
if hold.stage ~= 'held' then return {'WRONG_STAGE', hold.stage} end

local expiresAt = now + ttl
local userKey = userSeatsKey(hold.sessionId, hold.userId)
for _, seatId in ipairs(hold.seatIds) do
  local key = seatKey(hold.sessionId, seatId)
  if redis.call('GET', key) == holdId then redis.call('PEXPIREAT', key, expiresAt) end
  redis.call('ZADD', userKey, 'XX', expiresAt, holdId .. ':' .. seatId)
end
if redis.call('PTTL', userKey) < ttl then redis.call('PEXPIREAT', userKey, expiresAt) end
redis.call('HSET', holdKey, 'stage', 'confirmed', 'expiresAt', expiresAt)
redis.call('PEXPIREAT', holdKey, expiresAt + retention)
redis.call('ZADD', deadlinesKey(hold.sessionId), expiresAt, holdId)

emit(streamKey, 'hold.confirmed', now, {
  holdId = holdId, userId = hold.userId, sessionId = hold.sessionId, seatIds = hold.seatIds,
  expiresAt = expiresAt,
})
return {'OK', expiresAt}
