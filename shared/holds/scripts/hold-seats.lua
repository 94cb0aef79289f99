--[[
  Holds every requested seat of one session for one user, or none of them (first click wins).

  Input:
    KEYS[1]    hold record          hold:{sid}:<holdId>         hash
    KEYS[2]    the user's seats     user-seats:{sid}:<userId>   zset "<holdId>:<seatId>" -> expiresAt ms
    KEYS[3]    session events       events:{sid}                stream
    KEYS[4..]  seats                seat:{sid}:<seatId>         string: holdId (TTL) | sold:<orderId>

    ARGV[1]    holdId
    ARGV[2]    userId
    ARGV[3]    sessionId
    ARGV[4]    hold token hash (sha256 hex; the token itself is kept only sealed, ARGV[8])
    ARGV[5]    hold TTL, ms
    ARGV[6]    most seats one user may hold in this session at once
    ARGV[7]    how long the hold record outlives its expiry, ms (so its final stage can be read)
    ARGV[8]    the hold token sealed under the request's Idempotency-Key, or '' without one
    ARGV[9..]  seat ids, in the order of KEYS[4..]
    (the session's hold-deadlines:{sid} zset is built from ARGV[3]; same hash tag)

  Output:
    {'OK', expiresAtMs}
    {'REPLAY'}                       a hold with this id exists: the same request (its id is
                                     derived from the Idempotency-Key) ran before; nothing changed
    {'SEAT_UNAVAILABLE', seatId...}  those seats are held or sold; nothing was held
    {'HOLD_LIMIT', seatsHeldNow}     the user would hold more than ARGV[6]; nothing was held

  Events: hold.created; seat log: the seats 'held'
]]
--- @include "common"

local holdKey, userKey, streamKey = KEYS[1], KEYS[2], KEYS[3]
local holdId, userId, sessionId, tokenHash = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, maxSeats, retention = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local seatCount = #KEYS - 3

if redis.call('EXISTS', holdKey) == 1 then return {'REPLAY'} end

local taken = {}
for i = 1, seatCount do
  if redis.call('EXISTS', KEYS[3 + i]) == 1 then taken[#taken + 1] = ARGV[8 + i] end
end
if #taken > 0 then return {'SEAT_UNAVAILABLE', unpack(taken)} end

local now = nowMs()
redis.call('ZREMRANGEBYSCORE', userKey, '-inf', now)
local alreadyHeld = redis.call('ZCARD', userKey)
if alreadyHeld + seatCount > maxSeats then return {'HOLD_LIMIT', alreadyHeld} end

local expiresAt = now + ttl
local seatIds = {}
for i = 1, seatCount do
  local seatId = ARGV[8 + i]
  seatIds[i] = seatId
  redis.call('SET', KEYS[3 + i], holdId, 'PXAT', expiresAt)
  redis.call('ZADD', userKey, expiresAt, holdId .. ':' .. seatId)
end
-- The user's set lives as long as the longest hold in it.
if redis.call('PTTL', userKey) < ttl then redis.call('PEXPIREAT', userKey, expiresAt) end

redis.call('HSET', holdKey,
  'userId', userId, 'sessionId', sessionId, 'seatIds', table.concat(seatIds, ','),
  'stage', 'held', 'tokenHash', tokenHash, 'createdAt', now, 'expiresAt', expiresAt)
if ARGV[8] ~= '' then redis.call('HSET', holdKey, 'sealedToken', ARGV[8]) end
redis.call('PEXPIREAT', holdKey, expiresAt + retention)
redis.call('ZADD', deadlinesKey(sessionId), expiresAt, holdId)

emit(streamKey, 'hold.created', now, {
  holdId = holdId, userId = userId, sessionId = sessionId, seatIds = seatIds, expiresAt = expiresAt,
})
logSeatChanges(sessionId, seatIds, 'held')
return {'OK', expiresAt}
