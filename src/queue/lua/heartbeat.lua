-- heartbeat.lua: extends one lease, fenced by its token.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: type id token lease_ms. Returns {1} or {0, state, token} or {-1}.
local now = now_us()
local t, id, tok, lease = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local lk, m = K(t, 'leased'), id .. ':' .. tok
if not redis.call('ZSCORE', lk, m) then return stale(t, id) end
local deadline = N(now + lease * 1000)
redis.call('ZADD', lk, deadline, m)
redis.call('HSET', JK(t, id), 'lease_until', deadline, 'updated', N(now))
return {1}
