-- fail.lua: records a failed attempt: retry later with backoff, or a dead letter.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: type id token error_json permanent backoff_ms. Returns {1, dead} or {0, state, token}
-- or {-1}.
local now = now_us()
local t, id, tok, ej = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local perm, backoff = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('ZREM', K(t, 'leased'), id .. ':' .. tok) == 0 then return stale(t, id) end
local jk = JK(t, id)
local v = redis.call('HMGET', jk, 'attempt', 'max_attempts', 'errors')
local attempt = tonumber(v[1] or '0')
local errs = add_error(v[3], attempt, now, ej)
if perm == 1 or attempt >= tonumber(v[2]) then
  redis.call('HSET', jk, 'state', 'dead', 'errors', errs, 'lease_until', '0',
      'finished', N(now), 'updated', N(now))
  redis.call('ZADD', K(t, 'dead'), N(now), id)
  return {1, 1}
end
local nb = N(now + backoff * 1000)
redis.call('HSET', jk, 'state', 'delayed', 'errors', errs, 'lease_until', '0',
    'not_before', nb, 'updated', N(now))
redis.call('ZADD', K(t, 'delayed'), nb, id)
return {1, 0}
