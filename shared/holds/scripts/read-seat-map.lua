--[[
  Reads a session's seat statuses as one consistent snapshot, with what the API's seat-map cache
  (shared/catalogue/seat-map-cache.ts) needs to know how long the snapshot stays true.

  Input:
    KEYS[1]      seat-map version   seatmap-version:{sid}   string (common.lua bumps it)
    KEYS[2]      hold deadlines     hold-deadlines:{sid}    zset holdId -> expiresAt ms
    KEYS[3..N]   the session's seats, in layout order       seat:{sid}:<seatId>

  Output:
    {version, msUntilNextExpiry, value...}
      version            the seat-map version, '' when the session has none yet (a snapshot
                         without one must not be cached)
      msUntilNextExpiry  ms until the earliest deadline of a live hold, counted from this
                         script's clock, 0 if one is due now; -1 when no hold has one. Every held
                         seat's TTL runs out at its hold's deadline (hold-seats, confirm-hold,
                         settle-hold set both in one step) or later (a paying hold has none), so
                         no seat turns free by itself sooner.
      value              each seat key's value, in KEYS order: a hold id (held), 'sold:<orderId>'
                         (sold) or nil (available)

  Events: none (read only)
]]
local version = redis.call('GET', KEYS[1]) or ''
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- A deadline equal to now counts: the seat key is still readable for that millisecond.
local nextDeadline = redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local reply = { version, nextDeadline[2] and (tonumber(nextDeadline[2]) - now) or -1 }
local values = redis.call('MGET', unpack(KEYS, 3))
for i = 1, #values do reply[i + 2] = values[i] end
return reply
