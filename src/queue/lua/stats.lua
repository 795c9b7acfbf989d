-- stats.lua: job counts per type and state.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- Returns type, ready, delayed, leased, done, dead per type (sorted by type).
local now = now_us()
local types = redis.call('SMEMBERS', 'omniva:types')
table.sort(types)
local out = {}
for _, t in ipairs(types) do
  promote(t, now)
  out[#out + 1] = t
  for _, s in ipairs({'ready', 'delayed', 'leased', 'done', 'dead'}) do
    out[#out + 1] = redis.call('ZCARD', K(t, s))
  end
end
return out
