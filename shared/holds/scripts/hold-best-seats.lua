--[[
  Best available (§4.8): picks the best free seats of one session for one user and holds them,
  in one step, so concurrent requests never get the same seat and never retry each other. The
  choice is the one shared/holds/best-seats.ts defines (read it for the rules and the metric),
  made again here; test/integration/best-seats-script.test.ts keeps the two the same. Holding
  the chosen seats is hold-seats.lua's own step (createHold in includes/common.lua).

  It reads which seats are free from the session's occupancy (seats-taken:{sid}, one byte per
  seat; includes/common.lua), not from each seat's key: a row is one substring, its free runs
  are found by string.find, and in each run only the few starts that can be its best are scored
  (near either end, where the orphan and strand rules bite, and near the row's middle, where the
  distance is least). Rows are read nearest the best row first, and reading stops at the first
  row that cannot score better than a block already found with no orphan and no strand. The
  seats chosen are then checked against their keys; one the occupancy called free but that is
  taken (a seat written outside the scripts) is marked taken and the choice made again.

  Input:
    KEYS[1]    hold record          hold:{sid}:<holdId>         hash
    KEYS[2]    the user's seats     user-seats:{sid}:<userId>   zset "<holdId>:<seatId>" -> expiresAt ms
    KEYS[3]    session events       events:{sid}                stream
    KEYS[4]    session layout       layout:{sid}                hash: 'rows' -> row count; 'width' ->
                                                                columns per row; 'slot' -> the length
                                                                of a seat id; '1' (row A, nearest the
                                                                screen) … '<rows>' -> the row's columns
                                                                left to right, one slot each: a seat
                                                                id, or spaces where there is no seat
                                                                (an aisle, or past the row's end);
                                                                'mids' -> each row's first + last
                                                                seat column, comma-separated (its
                                                                middle, doubled); '@<seatId>' -> the
                                                                seat's byte in seats-taken:{sid},
                                                                (row - 1) * width + column - 1

    ARGV[1..8] as in hold-seats.lua: holdId, userId, sessionId, token hash, hold TTL (ms), most
               seats per user per session, record retention (ms), sealed token or ''
    ARGV[9]    quantity
    ARGV[10]   '1': one block of adjacent seats in a row (together); '0': the best seats, apart
    (seats-taken:{sid}, seat:{sid}:<seatId>, hold-deadlines:{sid} and seatlog:{sid} are built
    from ARGV[3] and the layout; all share the hash tag. A seat whose key exists is taken.
    seats-taken:{sid} is built here from the seat keys when it is missing, expiring with the
    layout.)

  Output:
    {'OK', expiresAtMs, seatId...}     held; the seats in room order (front row first, left to right)
    {'REPLAY'}                         a hold with this id exists (see hold-seats.lua); nothing changed
    {'HOLD_LIMIT', seatsHeldNow}       the user would hold more than ARGV[6]; nothing was held
    {'NO_SEATS_TOGETHER', seatsFree}   together: no ARGV[9] adjacent free seats in any row; nothing held
    {'NO_SEATS_AVAILABLE', seatsFree}  apart: fewer than ARGV[9] free seats; nothing was held
    {'NO_LAYOUT'}                      KEYS[4] does not exist (or predates 'mids'): the caller
                                       writes it and calls again

  Events: hold.created; seat log: the seats 'held' (seatmap-version:{sid} bumped); occupancy:
  those seats taken
]]
--- @include "common"

local h = newHoldArgs()
local quantity, together = tonumber(ARGV[9]), ARGV[10] == '1'

if redis.call('EXISTS', h.holdKey) == 1 then return {'REPLAY'} end
local layoutOf = KEYS[4]
local layout = redis.call('HMGET', layoutOf, 'rows', 'slot', 'width', 'mids')
local rowCount, slot, width, mids =
  tonumber(layout[1]), tonumber(layout[2]), tonumber(layout[3]), layout[4]
if not rowCount or not mids then return {'NO_LAYOUT'} end

local now = nowMs()
local alreadyHeld = seatsHeldNow(h.userKey, now)
if alreadyHeld + quantity > h.maxSeats then return {'HOLD_LIMIT', alreadyHeld} end

local takenKey = occupancyKey(h.sessionId)
local seatPrefix = seatKey(h.sessionId, '')

-- The occupancy, from the seat keys, when there is none yet (a first request, or Redis lost it).
local function buildOccupancy()
  local bytes = {}
  for y = 0, rowCount - 1 do
    local line = redis.call('HGET', layoutOf, y + 1)
    local keys, cols = {}, {}
    for col = 1, width do
      if string.byte(line, col * slot) == 32 then
        bytes[y * width + col] = 'x'
      else
        keys[#keys + 1] = seatPrefix .. string.sub(line, col * slot - slot + 1, col * slot)
        cols[#keys] = col
      end
    end
    if #keys > 0 then
      local owners = redis.call('MGET', unpack(keys))
      for i = 1, #keys do bytes[y * width + cols[i]] = owners[i] and '1' or '0' end
    end
  end
  local occupancy = table.concat(bytes)
  redis.call('SET', takenKey, occupancy)
  local expiresAt = redis.call('PEXPIRETIME', layoutOf)
  if expiresAt > 0 then redis.call('PEXPIREAT', takenKey, expiresAt) end
  return occupancy
end
local occupancy = redis.call('GET', takenKey) or buildOccupancy()

-- depth[y]: what row y (0 = A) adds to each of its seats' score, 4 (3y - 2 (rows - 1))², the
-- depth part of the 36-times squared distance from the best point (best-seats.ts, seatScore).
local depth = {}
for y = 0, rowCount - 1 do
  local d = 3 * y - 2 * (rowCount - 1)
  depth[y] = 4 * d * d
end

-- Together: one block of `quantity`. Apart: `quantity` blocks of one, each chosen after the last.
local rounds, size = 1, quantity
if not together then rounds, size = quantity, 1 end

-- A choice is {orphans, strands, score, y, start}; compareChoices in best-seats.ts.
local function better(a, b)
  if not b then return true end
  if a[1] ~= b[1] then return a[1] < b[1] end
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] < b[3] end
  if a[4] ~= b[4] then return a[4] > b[4] end
  return a[5] < b[5]
end

local function strandsIn(length)
  if size > 1 and length % size == 1 then return 1 end
  return 0
end

-- The sum of (u + 2k)² for k = 0 … size - 1, in closed form: the distance part of a block whose
-- first seat is at u = 2x - mid (best-seats.ts, seatScore, over 9).
local function spreadFrom(u)
  return size * u * u + 2 * u * size * (size - 1) + 2 * (size - 1) * size * (2 * size - 1) / 3
end

-- A row: y, its bytes of the occupancy (this call's picks are written into them), mid (its first
-- + last seat column, from the layout), bound (no block of the row scores less; math.huge when
-- no seat is free) and best (its best block once scored, false when it has none; nil until then
-- and again after a change to the row).
--
-- The bound: with d the least |2x - mid| of the row's free seats, a block holding no seat nearer
-- the middle lies on one side of it, so scores at least size * depth + 9 spreadFrom(d); when d <=
-- 1 a block may be centred, and the least is the centred block's.
local function bound(row)
  local middle = math.floor(row.mid / 2)
  local right = string.find(row.bytes, '0', middle + 1, true)
  local _, left = string.find(string.sub(row.bytes, 1, middle), '.*0')
  local d = math.huge
  if right then d = 2 * right - row.mid end
  if left then d = math.min(d, row.mid - 2 * left) end
  if d == math.huge then return d end
  if d <= 1 then return size * depth[row.y] + 3 * size * (size * size - 1) end
  return size * depth[row.y] + 9 * spreadFrom(d)
end

local rows, y = {}, 0
for mid in string.gmatch(mids, '%d+') do
  local bytes = string.sub(occupancy, y * width + 1, (y + 1) * width)
  rows[y] = { y = y, bytes = bytes, mid = tonumber(mid) }
  rows[y].bound = bound(rows[y])
  y = y + 1
end

-- The row's best block of `size` free seats, or false. In a free run whose blocks start at
-- a … last, a start's orphans and strands depend only on whether it is a + 1 or last - 1 and on
-- (start - a) mod size, and its distance sum grows with its distance from the start that centres
-- the block on the row; so each kind's best start lies within 2 size of the run's ends or of
-- that centre, and only those starts are scored, left to right (ties go to the leftmost).
local function bestInRow(row)
  local bestOrphans, bestStrands, bestSum, bestStart
  local mid = row.mid
  local centre = math.floor((mid - size + 1) / 2)
  local from = 1
  while true do
    local a, b = string.find(row.bytes, '0+', from)
    if not a then break end
    from = b + 1
    local last = b - size + 1
    if last >= a then
      local runStrands = strandsIn(b - a + 1)
      -- The windows: [a, endsBy] near the left end, [nearLo, nearHi] near the centre (none when
      -- the centre is far outside the run), [rightFrom, last] near the right end.
      local endsBy, rightFrom = a + 2 * size, last - 2 * size
      local nearLo, nearHi = math.max(centre - 2 * size, a), math.min(centre + 2 * size + 1, last)
      if nearLo > nearHi then nearLo = math.huge end
      local start = a
      while start <= last do
        local left, right = start - a, last - start
        local orphans = (left == 1 and 1 or 0) + (right == 1 and 1 or 0)
        local strands = strandsIn(left) + strandsIn(right) - runStrands
        if strands < 0 then strands = 0 end
        if not bestOrphans or orphans < bestOrphans or (orphans == bestOrphans and
            (strands < bestStrands or (strands == bestStrands and
              spreadFrom(2 * start - mid) < bestSum))) then
          bestOrphans, bestStrands, bestSum, bestStart =
            orphans, strands, spreadFrom(2 * start - mid), start
        end
        start = start + 1
        if start > endsBy and start < nearLo and start < rightFrom then
          start = math.min(nearLo, rightFrom)
        end
        if start > endsBy and start > nearHi and start < rightFrom then start = rightFrom end
      end
    end
  end
  if not bestOrphans then return false end
  return { bestOrphans, bestStrands, 9 * bestSum + size * depth[row.y], row.y, bestStart }
end

-- The best block in the room: rows are scored lowest bound first, until the next row's bound
-- is above a block already found with no orphan and no strand (a row is scored again only after
-- a change to it).
local function pick()
  local best
  for y = 0, rowCount - 1 do
    if rows[y].best and better(rows[y].best, best) then best = rows[y].best end
  end
  while true do
    local next
    for y = 0, rowCount - 1 do
      local row = rows[y]
      if row.best == nil and row.bound < math.huge and (not next or row.bound < next.bound) then
        next = row
      end
    end
    if not next then return best end
    if best and best[1] == 0 and best[2] == 0 and next.bound > best[3] then return best end
    next.best = bestInRow(next)
    if next.best and better(next.best, best) then best = next.best end
  end
end

local function markTaken(row, col)
  row.bytes = string.sub(row.bytes, 1, col - 1) .. '1' .. string.sub(row.bytes, col + 1)
  row.bound, row.best = bound(row), nil
end

local function seatIdAt(y, col)
  local line = redis.call('HGET', layoutOf, y + 1)
  return string.sub(line, col * slot - slot + 1, col * slot)
end

local picked = {}
local round = 1
while round <= rounds do
  local choice = pick()
  if not choice then
    local seatsFree = #picked
    for y = 0, rowCount - 1 do
      seatsFree = seatsFree + select(2, string.gsub(rows[y].bytes, '0', ''))
    end
    return { together and 'NO_SEATS_TOGETHER' or 'NO_SEATS_AVAILABLE', seatsFree }
  end
  -- The seats' keys have the last word: one taken behind the occupancy's back is marked taken,
  -- and the round is chosen again.
  local y, row, start = choice[4], rows[choice[4]], choice[5]
  local ids, keys = {}, {}
  for i = 1, size do
    ids[i] = seatIdAt(y, start + i - 1)
    keys[i] = seatPrefix .. ids[i]
  end
  local owners = redis.call('MGET', unpack(keys))
  local stale = false
  for i = 1, size do
    if owners[i] then
      stale = true
      markTaken(row, start + i - 1)
      redis.call('SETRANGE', takenKey, y * width + start + i - 2, '1')
    end
  end
  if not stale then
    for i = 1, size do
      markTaken(row, start + i - 1)
      picked[#picked + 1] = { y, start + i - 1, ids[i] }
    end
    round = round + 1
  end
end

table.sort(picked, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
local seatKeys, seatIds = {}, {}
for i, seat in ipairs(picked) do
  seatIds[i] = seat[3]
  seatKeys[i] = seatPrefix .. seat[3]
end
return { 'OK', createHold(h, seatKeys, seatIds, now), unpack(seatIds) }
