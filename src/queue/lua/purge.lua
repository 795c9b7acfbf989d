-- purge.lua: deletes jobs in one state, a chunk per call.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: state chunk. Deletes up to chunk jobs in that state; returns how many.
local now = now_us()
local st, chunk = ARGV[1], tonumber(ARGV[2])
local n = 0
for _, t in ipairs(redis.call('SMEMBERS', 'omniva:types')) do
  promote(t, now)
  local zk = K(t, st)
  local ms = redis.call('ZRANGE', zk, '0', N(chunk - n - 1))
  for _, m in ipairs(ms) do
    local id = m
    if st == 'ready' then id = string.sub(m, 19) elseif st == 'leased' then id = mid(m) end
    drop(t, id)
  end
  if #ms > 0 then redis.call('ZREM', zk, unpack(ms)) end
  n = n + #ms
  if n >= chunk then break end
end
return n
