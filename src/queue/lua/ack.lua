-- ack.lua: marks leased jobs done, fenced by their tokens.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: n, then per job: type id token. Returns per job 1 (acked), 0 (stale: lease lost),
-- -1 (no such job). Per job: ZREM of "<id>:<token>" (the fence) + HSET; the done ZADD once
-- per type. (Done jobs are trimmed by reap.)
local nowN = N(now_us())
local n = tonumber(ARGV[1])
local out, add = {}, {}
for i = 0, n - 1 do
  local b = 2 + i * 3
  local t, id, tok = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  if redis.call('ZREM', K(t, 'leased'), id .. ':' .. tok) == 1 then
    redis.call('HSET', JK(t, id), 'state', 'done', 'lease_until', '0', 'finished', nowN,
        'updated', nowN)
    local z = add[t] or {}; add[t] = z
    z[#z + 1] = nowN; z[#z + 1] = id
    out[#out + 1] = 1
  elseif redis.call('EXISTS', JK(t, id)) == 1 then out[#out + 1] = 0
  else out[#out + 1] = -1 end
end
for t, z in pairs(add) do redis.call('ZADD', K(t, 'done'), unpack(z)) end
return out
