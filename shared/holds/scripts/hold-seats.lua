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

  Events: hold.created; seat log: the seats 'held' (seatmap-version:{sid} bumped); occupancy
  (layout:{sid}, seats-taken:{sid}, when built): those seats taken
]]
--- @include "common"

local h = newHoldArgs()
local seatCount = #KEYS - 3

if redis.call('EXISTS', h.holdKey) == 1 then return {'REPLAY'} end

local seatKeys, seatIds, taken = {}, {}, {}
for i = 1, seatCount do
  seatKeys[i], seatIds[i] = KEYS[3 + i], ARGV[8 + i]
  if redis.call('EXISTS', seatKeys[i]) == 1 then taken[#taken + 1] = seatIds[i] end
end
if #taken > 0 then return {'SEAT_UNAVAILABLE', unpack(taken)} end

local now = nowMs()
local alreadyHeld = seatsHeldNow(h.userKey, now)
if alreadyHeld + seatCount > h.maxSeats then return {'HOLD_LIMIT', alreadyHeld} end

return {'OK', createHold(h, seatKeys, seatIds, now)}
