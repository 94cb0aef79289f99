--[[
  Ends a live hold and frees its seats: released by its holder, or expired by the cleanup job.
  A hold whose clock ran out ends as 'expired' even when its holder releases it.

  Input:
    KEYS[1]   hold record       hold:{sid}:<holdId>   hash
    KEYS[2]   session events    events:{sid}          stream
    (seat, user-seats, hold-deadlines, layout and seats-taken keys are built from the hold
    record; same hash tag)

    ARGV[1]   holdId
    ARGV[2]   mode: 'release' | 'expire'
    ARGV[3]   release: auth kind 'owner' | 'user'      expire: the stage the job was scheduled for
    ARGV[4]   release: '<userId>:<token hash>' | user id expire: the expiresAt (ms) it was scheduled for

  Output:
    {'OK', endStage}              ended now ('released' or 'expired'); seats freed
    {'ALREADY_ENDED', stage}      released or expired before; nothing changed
    {'NOT_FOUND'}                 no such hold (or its record is gone)
    {'FORBIDDEN'}                 release: wrong token or not the holder
    {'WRONG_STAGE', stage}        paying or paid: a hold being bought is not released
    {'STALE', stage, expiresAt}   expire: the hold moved on (confirmed, paying, …) since the job
                                  was scheduled; a newer job owns its expiry
    {'NOT_DUE', expiresAt}        expire: the clock has not run out yet (early or skewed job)

  Events: hold.released | hold.expired, then seat.released for each seat this hold still owned;
          seat log: those seats 'available', seatmap-version:{sid} bumped; occupancy (best
          available): those seats free
]]
--- @include "common"

local holdKey, streamKey = KEYS[1], KEYS[2]
local holdId, mode = ARGV[1], ARGV[2]

local hold = readHold(holdKey)
if not hold then return {'NOT_FOUND'} end

local now = nowMs()
if mode == 'release' then
  if not authorized(hold, ARGV[3], ARGV[4]) then return {'FORBIDDEN'} end
  if hold.stage == 'released' or hold.stage == 'expired' then return {'ALREADY_ENDED', hold.stage} end
  if not isLive(hold.stage) then return {'WRONG_STAGE', hold.stage} end
else
  if hold.stage ~= ARGV[3] or hold.expiresAt ~= tonumber(ARGV[4]) then
    return {'STALE', hold.stage, hold.expiresAt}
  end
  if not isLive(hold.stage) then return {'ALREADY_ENDED', hold.stage} end
  if now < hold.expiresAt then return {'NOT_DUE', hold.expiresAt} end
end

local endStage = 'released'
if now >= hold.expiresAt then endStage = 'expired' end

local userKey = userSeatsKey(hold.sessionId, hold.userId)
local freed = {}
for _, seatId in ipairs(hold.seatIds) do
  local key = seatKey(hold.sessionId, seatId)
  local owner = redis.call('GET', key)
  if owner == holdId then redis.call('DEL', key) end
  -- A seat whose key already expired (TTL) was freed at that moment; one re-held since by
  -- somebody else is theirs now and is not announced again.
  if owner == holdId or owner == false then freed[#freed + 1] = seatId end
  redis.call('ZREM', userKey, holdId .. ':' .. seatId)
end
redis.call('HSET', holdKey, 'stage', endStage, 'endedAt', now)
redis.call('ZREM', deadlinesKey(hold.sessionId), holdId)

emit(streamKey, 'hold.' .. endStage, now, {
  holdId = holdId, userId = hold.userId, sessionId = hold.sessionId, seatIds = hold.seatIds,
})
for _, seatId in ipairs(freed) do
  emit(streamKey, 'seat.released', now, {
    sessionId = hold.sessionId, seatId = seatId, holdId = holdId, reason = endStage,
  })
end
logSeatChanges(hold.sessionId, freed, 'available')
markSeats(hold.sessionId, freed, '0')
return {'OK', endStage}
