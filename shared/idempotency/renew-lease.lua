--[[
  Extends an Idempotency-Key's lease while the request that holds it is still running, so a live
  request keeps its key however long it takes, and a dead one's lease ends LEASE ms after its
  last renewal. Only the lease's own holder may renew it: a request that stalled past its lease
  (and was taken over) must not extend, or shorten, its successor's record.

  Input:
    KEYS[1]   idempotency record   idem:<hash>   string (JSON)
    ARGV[1]   the record as the holder wrote it (its lease id makes it unique)
    ARGV[2]   lease length, ms

  Output:
    1   renewed
    0   not ours any more (taken over, finished, or expired)

  Events: none
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
