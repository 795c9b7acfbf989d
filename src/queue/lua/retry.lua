-- retry.lua: puts one dead letter back to ready with fresh attempts.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: id. Returns {1} or {0, state} or {-1}.
local now = now_us()
local id = ARGV[1]
local t = type_of(id)
if not t then return {-1} end
local jk = JK(t, id)
local v = redis.call('HMGET', jk, 'state', 'priority')
if v[1] ~= 'dead' then return {0, v[1]} end
redis.call('ZREM', K(t, 'dead'), id)
local rt = tick(t, now)
redis.call('HDEL', jk, 'finished')
redis.call('HSET', jk, 'state', 'ready', 'attempt', '0', 'lease_expiries', '0', 'lease_until', '0',
    'not_before', N(rt), 'rk', to_ready(t, id, tonumber(v[2]), rt), 'updated', N(now))
return {1}
