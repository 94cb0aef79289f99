--[[
  Frees the seats of a refunded order so they can be sold again.

  Input:
    KEYS[1]    session events    events:{sid}          stream
    KEYS[2..]  seats             seat:{sid}:<seatId>   string

    ARGV[1]    orderId
    ARGV[2]    sessionId
    ARGV[3..]  seat ids, in the order of KEYS[2..]

  Output:
    {'OK', freedCount}   seats that were sold to this order are available again (a seat sold to
                         another order, or already free, is left alone)

  Events: seat.released for each seat freed (reason 'refunded'); seat log: those 'available'
  (seatmap-version:{sid} bumped);
  occupancy (layout:{sid}, seats-taken:{sid}, built from ARGV[2]): those free
]]
--- @include "common"

local streamKey, orderId, sessionId = KEYS[1], ARGV[1], ARGV[2]
local now = nowMs()
local freed = {}
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) == 'sold:' .. orderId then
    redis.call('DEL', KEYS[i])
    freed[#freed + 1] = ARGV[i + 1]
    emit(streamKey, 'seat.released', now, {
      sessionId = sessionId, seatId = ARGV[i + 1], orderId = orderId, reason = 'refunded',
    })
  end
end
logSeatChanges(sessionId, freed, 'available')
markSeats(sessionId, freed, '0')
return {'OK', #freed}
