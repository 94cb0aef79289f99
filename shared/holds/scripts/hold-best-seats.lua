--[[
  Best available (§4.8): picks the best free seats of one session for one user and holds them,
  in one step, so concurrent requests never get the same seat and never retry each other. The
  choice is the one shared/holds/best-seats.ts defines (read it for the rules and the metric),
  made again here; test/integration/best-seats-script.test.ts keeps the two the same. Holding
  the chosen seats is hold-seats.lua's own step (createHold in includes/common.lua).

  Rows are read nearest the best row first, and reading stops at the first row that cannot score
  better than a block already found with no orphan and no strand: in a room with free seats near
  its best point, a few rows are read, not the whole room. Each row read is one pass over it.

  Input:
    KEYS[1]    hold record          hold:{sid}:<holdId>         hash
    KEYS[2]    the user's seats     user-seats:{sid}:<userId>   zset "<holdId>:<seatId>" -> expiresAt ms
    KEYS[3]    session events       events:{sid}                stream
    KEYS[4]    session layout       layout:{sid}                hash: 'rows' -> row count; 'slot' -> the
                                                                length of a seat id; '1' (row A, nearest
                                                                the screen) … '<rows>' -> the row's
                                                                columns left to right, one slot each: a
                                                                seat id, or spaces where there is no
                                                                seat (an aisle)

    ARGV[1..8] as in hold-seats.lua: holdId, userId, sessionId, token hash, hold TTL (ms), most
               seats per user per session, record retention (ms), sealed token or ''
    ARGV[9]    quantity
    ARGV[10]   '1': one block of adjacent seats in a row (together); '0': the best seats, apart
    (seat keys seat:{sid}:<seatId> are built from the layout's ids, the session's hold-deadlines:{sid}
    and seatlog:{sid} from ARGV[3]; all share the hash tag. A seat whose key exists is taken.)

  Output:
    {'OK', expiresAtMs, seatId...}     held; the seats in room order (front row first, left to right)
    {'REPLAY'}                         a hold with this id exists (see hold-seats.lua); nothing changed
    {'HOLD_LIMIT', seatsHeldNow}       the user would hold more than ARGV[6]; nothing was held
    {'NO_SEATS_TOGETHER', seatsFree}   together: no ARGV[9] adjacent free seats in any row; nothing held
    {'NO_SEATS_AVAILABLE', seatsFree}  apart: fewer than ARGV[9] free seats; nothing was held
    {'NO_LAYOUT'}                      KEYS[4] does not exist: the caller writes it and calls again

  Events: hold.created; seat log: the seats 'held'
]]
--- @include "common"

local h = newHoldArgs()
local layoutKey = KEYS[4]
local quantity, together = tonumber(ARGV[9]), ARGV[10] == '1'

if redis.call('EXISTS', h.holdKey) == 1 then return {'REPLAY'} end
local layout = redis.call('HMGET', layoutKey, 'rows', 'slot')
local rowCount, slot = tonumber(layout[1]), tonumber(layout[2])
if not rowCount then return {'NO_LAYOUT'} end

local now = nowMs()
local alreadyHeld = seatsHeldNow(h.userKey, now)
if alreadyHeld + quantity > h.maxSeats then return {'HOLD_LIMIT', alreadyHeld} end

-- depth[y]: what row y (0 = A) adds to each of its seats' score, 4 (3y - 2 (rows - 1))², the
-- depth part of the 36-times squared distance from the best point (best-seats.ts, seatScore).
local depth = {}
for y = 0, rowCount - 1 do
  local d = 3 * y - 2 * (rowCount - 1)
  depth[y] = 4 * d * d
end

-- Rows in the order they are read: nearest the best row first, the one further back first on a
-- tie (lo walks to the screen from the best point, hi to the back).
local order = {}
local lo = math.floor(2 * (rowCount - 1) / 3)
local hi = lo + 1
while lo >= 0 or hi < rowCount do
  if hi >= rowCount or (lo >= 0 and depth[lo] < depth[hi]) then
    order[#order + 1], lo = lo, lo - 1
  else
    order[#order + 1], hi = hi, hi + 1
  end
end

-- A choice is {orphans, strands, score, y, start}; compareChoices in best-seats.ts.
local function better(a, b)
  if not b then return true end
  if a[1] ~= b[1] then return a[1] < b[1] end
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] < b[3] end
  if a[4] ~= b[4] then return a[4] > b[4] end
  return a[5] < b[5]
end

local seatPrefix = seatKey(h.sessionId, '')
-- Row y, read from the layout with the state of its seats: line (its slots), width (columns),
-- taken[col] (truthy for a taken seat, and for a column without one: MGET's own reply, so no
-- table is built per row), mid (first + last seat column) and y.
local function loadRow(y)
  local line = redis.call('HGET', layoutKey, y + 1) or ''
  local width = #line / slot
  if width == 0 then return { y = y, line = line, taken = {}, width = 0, mid = 0 } end
  local keys = {}
  for col = 1, width do keys[col] = seatPrefix .. string.sub(line, col * slot - slot + 1, col * slot) end
  local taken = redis.call('MGET', unpack(keys))
  local first, last = 1, width
  if string.find(line, ' ', 1, true) then
    first, last = nil, nil
    for col = 1, width do
      if string.byte(line, col * slot) == 32 then
        taken[col] = true
      else
        first, last = first or col, col
      end
    end
  end
  return { y = y, line = line, taken = taken, width = width, mid = (first or 0) + (last or 0) }
end

local function strandsIn(length, size)
  if size > 1 and length % size == 1 then return 1 end
  return 0
end

-- The row's best block of `size` free seats, or nil: one pass over its free runs, each block's
-- distance sum slid along the run. Within the row, ties go to the first (leftmost) block.
local function bestInRow(row, size)
  local bestOrphans, bestStrands, bestSum, bestStart
  local taken, mid, width = row.taken, row.mid, row.width
  local col = 1
  while col <= width do
    if not taken[col] then
      local a = col
      while col < width and not taken[col + 1] do col = col + 1 end
      local b = col
      if b - a + 1 >= size then
        local runStrands = strandsIn(b - a + 1, size)
        local sum = 0
        for x = a, a + size - 1 do
          local d = 2 * x - mid
          sum = sum + d * d
        end
        for start = a, b - size + 1 do
          if start > a then
            local out, into = 2 * (start - 1) - mid, 2 * (start + size - 1) - mid
            sum = sum - out * out + into * into
          end
          local left, right = start - a, b - (start + size - 1)
          local orphans = (left == 1 and 1 or 0) + (right == 1 and 1 or 0)
          local strands = strandsIn(left, size) + strandsIn(right, size) - runStrands
          if strands < 0 then strands = 0 end
          if not bestOrphans or orphans < bestOrphans or (orphans == bestOrphans and
              (strands < bestStrands or (strands == bestStrands and sum < bestSum))) then
            bestOrphans, bestStrands, bestSum, bestStart = orphans, strands, sum, start
          end
        end
      end
    end
    col = col + 1
  end
  if bestOrphans then
    return { bestOrphans, bestStrands, 9 * bestSum + size * depth[row.y], row.y, bestStart }
  end
end

local rows, read = {}, 0
-- The best block of `size` in the room: the rows read so far, then more rows until the next
-- cannot beat what was found (or every row is read). No block of row y scores under
-- size * depth[y] + spread, spread being the least a block of `size` seats in a row can add
-- (centred: 9 times the sum of (size - 1 - 2i)², i < size).
local function pick(size)
  local spread = 3 * size * (size * size - 1)
  local best
  for i = 1, read do
    local candidate = rows[order[i]].best
    if candidate and better(candidate, best) then best = candidate end
  end
  while read < rowCount do
    local y = order[read + 1]
    if best and best[1] == 0 and best[2] == 0 and size * depth[y] + spread > best[3] then break end
    read = read + 1
    local row = loadRow(y)
    rows[y] = row
    row.best = bestInRow(row, size)
    if row.best and better(row.best, best) then best = row.best end
  end
  return best
end

-- Together: one block of `quantity`. Apart: `quantity` blocks of one, each chosen after the last.
local rounds, size = 1, quantity
if not together then rounds, size = quantity, 1 end
local picked = {}
for _ = 1, rounds do
  local choice = pick(size)
  if not choice then
    -- Nothing stopped the reading early, so every row was read: count the room's free seats.
    local seatsFree = #picked
    for y = 0, rowCount - 1 do
      for col = 1, rows[y].width do
        if not rows[y].taken[col] then seatsFree = seatsFree + 1 end
      end
    end
    return { together and 'NO_SEATS_TOGETHER' or 'NO_SEATS_AVAILABLE', seatsFree }
  end
  local row = rows[choice[4]]
  for col = choice[5], choice[5] + size - 1 do
    row.taken[col] = true
    picked[#picked + 1] = { choice[4], col }
  end
  row.best = bestInRow(row, size)
end

table.sort(picked, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
local seatKeys, seatIds = {}, {}
for i, seat in ipairs(picked) do
  local line, col = rows[seat[1]].line, seat[2]
  seatIds[i] = string.sub(line, col * slot - slot + 1, col * slot)
  seatKeys[i] = seatKey(h.sessionId, seatIds[i])
end
return { 'OK', createHold(h, seatKeys, seatIds, now), unpack(seatIds) }
