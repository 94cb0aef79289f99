--[[
  Helpers shared by the hold scripts (inlined by the loader where a script says
  `--- @include "common"`).

  Keys built here follow shared/holds/keys.ts. They all carry the session's hash tag, so on
  Redis Cluster they live in the slot of the declared KEYS (the way BullMQ builds job keys from
  its queue prefix inside its scripts).
]]

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function seatKey(sessionId, seatId)
  return 'seat:{' .. sessionId .. '}:' .. seatId
end

local function userSeatsKey(sessionId, userId)
  return 'user-seats:{' .. sessionId .. '}:' .. userId
end

-- Live holds of a session by expiry (zset holdId -> expiresAt ms), so a sweep can find one whose
-- cleanup job was never queued (the API stopped right after the hold) and still expire it.
local function deadlinesKey(sessionId)
  return 'hold-deadlines:{' .. sessionId .. '}'
end

-- Paying holds of a session by when their payment started (zset holdId -> ms), so the payment
-- reconciler finds one whose payment stalled (shared/payments/reconcile-payments.ts).
local function payingKey(sessionId)
  return 'paying:{' .. sessionId .. '}'
end

-- The session's layout for best available (hold-best-seats.lua's header describes it).
local function layoutKey(sessionId)
  return 'layout:{' .. sessionId .. '}'
end

-- The session's seat occupancy for best available: one byte per layout slot, row after row,
-- '1' taken, '0' free, 'x' no seat. hold-best-seats.lua builds it from the seat keys when it is
-- missing; from then on every script that takes or frees a seat marks it here in the same step.
-- It may say taken for a seat whose key's TTL ran out a moment before its hold's cleanup job
-- ran (that job marks it free); it never says free for a seat a script took.
local function occupancyKey(sessionId)
  return 'seats-taken:{' .. sessionId .. '}'
end

-- Marks seats '1' (taken) or '0' (free) in the session's occupancy, if it has been built; the
-- layout maps each seat id to its byte ('@<seatId>' -> offset).
local function markSeats(sessionId, seatIds, state)
  if #seatIds == 0 then return end
  local key = occupancyKey(sessionId)
  if redis.call('EXISTS', key) == 0 then return end
  local fields = {}
  for i, seatId in ipairs(seatIds) do fields[i] = '@' .. seatId end
  local offsets = redis.call('HMGET', layoutKey(sessionId), unpack(fields))
  for i = 1, #fields do
    if offsets[i] then redis.call('SETRANGE', key, tonumber(offsets[i]), state) end
  end
end

local function splitIds(csv)
  local ids = {}
  for id in string.gmatch(csv, '[^,]+') do
    ids[#ids + 1] = id
  end
  return ids
end

-- The session's seat-map version (shared/catalogue/seat-map-cache.ts): a number that grows
-- whenever a seat of the session changes status, or a held seat's TTL is set to run out sooner,
-- in the same atomic step as the change. A cached seat map is reused only while it is unchanged.
-- It starts from the Redis clock in microseconds, not from 1: a version key lost with Redis's
-- data then never comes back with a number an API process still has a map cached under.
local function seatMapVersionKey(sessionId)
  return 'seatmap-version:{' .. sessionId .. '}'
end

local function bumpSeatMapVersion(sessionId)
  local key = seatMapVersionKey(sessionId)
  if redis.call('EXISTS', key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', key, t[1] .. string.format('%06d', tonumber(t[2])))
  end
  redis.call('INCR', key)
end

-- The session's seat change log (stream, capped at about SEAT_LOG_LENGTH entries) that live seat
-- maps follow (GET /api/v1/sessions/:id/seats/stream): one entry per change, in the order the
-- changes happened, written in the same atomic step as the change. Unlike events:{sid}, which
-- the relay empties, nothing consumes it; it only ages out.
local SEAT_LOG_LENGTH = 1000
local function logSeatChanges(sessionId, seatIds, status)
  if #seatIds == 0 then return end
  bumpSeatMapVersion(sessionId)
  local changes = {}
  for i, seatId in ipairs(seatIds) do changes[i] = { id = seatId, status = status } end
  redis.call('XADD', 'seatlog:{' .. sessionId .. '}', 'MAXLEN', '~', SEAT_LOG_LENGTH, '*',
    'data', cjson.encode({ changes = changes }))
end

-- Appends one event to the session's stream; the relay worker publishes it to RabbitMQ.
local function emit(streamKey, eventType, now, data)
  redis.call('XADD', streamKey, '*', 'type', eventType, 'occurredAt', now, 'data', cjson.encode(data))
end

-- The caller proves the right to act on a hold: on the API routes by being its owner (the
-- signed-in buyer) and presenting its token, authValue = '<userId>:<token hash>'; on the
-- seed-compatible routes, which have neither, by being its user, authValue = userId.
local function authorized(hold, authKind, authValue)
  if authKind == 'owner' then return authValue == hold.userId .. ':' .. hold.tokenHash end
  if authKind == 'user' then return hold.userId == authValue end
  return false
end

local function readHold(holdKey)
  local fields = redis.call('HGETALL', holdKey)
  if #fields == 0 then return nil end
  local hold = {}
  for i = 1, #fields, 2 do hold[fields[i]] = fields[i + 1] end
  hold.expiresAt = tonumber(hold.expiresAt)
  hold.seatIds = splitIds(hold.seatIds)
  return hold
end

-- Stages in which the hold still owns its seats and a clock runs on them.
local function isLive(stage)
  return stage == 'held' or stage == 'confirmed'
end

-- The KEYS and ARGV every script that creates a hold starts with (hold-seats, hold-best-seats;
-- their headers document them): KEYS[1..3] and ARGV[1..8].
local function newHoldArgs()
  return {
    holdKey = KEYS[1], userKey = KEYS[2], streamKey = KEYS[3],
    holdId = ARGV[1], userId = ARGV[2], sessionId = ARGV[3], tokenHash = ARGV[4],
    ttl = tonumber(ARGV[5]), maxSeats = tonumber(ARGV[6]), retention = tonumber(ARGV[7]),
    sealedToken = ARGV[8],
  }
end

-- How many seats of the session the user holds right now (the HOLD_LIMIT count): entries of
-- holds whose clock ran out are dropped first.
local function seatsHeldNow(userKey, now)
  redis.call('ZREMRANGEBYSCORE', userKey, '-inf', now)
  return redis.call('ZCARD', userKey)
end

-- Creates hold h (newHoldArgs) on seats the caller found free: takes each seat key until the
-- hold's expiry, counts them against the user, writes the hold record, puts it on the session's
-- deadlines, emits hold.created, logs the seats 'held' and marks them taken in the occupancy.
-- Returns the expiry (ms).
local function createHold(h, seatKeys, seatIds, now)
  local expiresAt = now + h.ttl
  for i, seatId in ipairs(seatIds) do
    redis.call('SET', seatKeys[i], h.holdId, 'PXAT', expiresAt)
    redis.call('ZADD', h.userKey, expiresAt, h.holdId .. ':' .. seatId)
  end
  -- The user's set lives as long as the longest hold in it.
  if redis.call('PTTL', h.userKey) < h.ttl then redis.call('PEXPIREAT', h.userKey, expiresAt) end

  redis.call('HSET', h.holdKey,
    'userId', h.userId, 'sessionId', h.sessionId, 'seatIds', table.concat(seatIds, ','),
    'stage', 'held', 'tokenHash', h.tokenHash, 'createdAt', now, 'expiresAt', expiresAt)
  if h.sealedToken ~= '' then redis.call('HSET', h.holdKey, 'sealedToken', h.sealedToken) end
  redis.call('PEXPIREAT', h.holdKey, expiresAt + h.retention)
  redis.call('ZADD', deadlinesKey(h.sessionId), expiresAt, h.holdId)

  emit(h.streamKey, 'hold.created', now, {
    holdId = h.holdId, userId = h.userId, sessionId = h.sessionId, seatIds = seatIds,
    expiresAt = expiresAt,
  })
  logSeatChanges(h.sessionId, seatIds, 'held')
  markSeats(h.sessionId, seatIds, '1')
  return expiresAt
end
