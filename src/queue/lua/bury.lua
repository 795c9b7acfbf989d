-- bury.lua: makes one job a dead letter at once.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: type id token error_json. token '0': the job must be ready/delayed; else leased with
-- that token. Returns {1} or {0, state, token} or {-1}.
local now = now_us()
local t, id, tok, ej = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = JK(t, id)
local v = redis.call('HMGET', jk, 'state', 'token', 'attempt', 'errors', 'rk')
if not v[1] then return {-1} end
if tok == '0' then
  if v[1] == 'ready' then redis.call('ZREM', K(t, 'ready'), v[5])
  elseif v[1] == 'delayed' then redis.call('ZREM', K(t, 'delayed'), id)
  else return {0, v[1], v[2]} end
elseif redis.call('ZREM', K(t, 'leased'), id .. ':' .. tok) == 0 then
  return {0, v[1], v[2]}
end
redis.call('HSET', jk, 'state', 'dead', 'errors', add_error(v[4], tonumber(v[3] or '0'), now, ej),
    'lease_until', '0', 'finished', N(now), 'updated', N(now))
redis.call('ZADD', K(t, 'dead'), N(now), id)
return {1}
