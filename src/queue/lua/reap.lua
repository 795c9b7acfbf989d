-- reap.lua: returns expired leases to ready (or the dead letters) and trims done jobs.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: max_expiries keep_done_ms max_done. Expired leases go back to ready (or, at the
-- max_expiries-th expiry, to the dead letters); done jobs older than keep_done_ms or beyond
-- max_done per type are deleted. At most 1000 of each per type and call. Returns
-- {reclaimed, buried, trimmed, more}.
local now = now_us()
local maxe, keep, maxdone = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local back, buried, trimmed, more = 0, 0, 0, 0
for _, t in ipairs(redis.call('SMEMBERS', 'omniva:types')) do
  local lk = K(t, 'leased')
  local exp = redis.call('ZRANGEBYSCORE', lk, '-inf', '(' .. N(now), 'LIMIT', '0', '1000')
  for _, m in ipairs(exp) do
    local id = mid(m)
    local jk = JK(t, id)
    local v = redis.call('HMGET', jk, 'lease_expiries', 'attempt', 'worker', 'errors', 'priority',
        'state')
    if v[6] then
      local le = tonumber(v[1] or '0') + 1
      local ej = cjson.encode('lease expired (worker ' .. (v[3] or '?') .. ')')
      local errs = add_error(v[4], tonumber(v[2] or '0'), now, ej)
      local tok = redis.call('INCR', K(t, 'seq'))
      if le >= maxe then
        redis.call('HSET', jk, 'state', 'dead', 'lease_expiries', N(le), 'token', N(tok),
            'errors', errs, 'lease_until', '0', 'finished', N(now), 'updated', N(now))
        redis.call('ZADD', K(t, 'dead'), N(now), id)
        buried = buried + 1
      else
        local rt = tick(t, now)
        local rk = to_ready(t, id, tonumber(v[5]), rt)
        redis.call('HSET', jk, 'state', 'ready', 'lease_expiries', N(le), 'token', N(tok),
            'errors', errs, 'lease_until', '0', 'not_before', N(rt), 'rk', rk, 'updated', N(now))
        back = back + 1
      end
    end
  end
  if #exp > 0 then redis.call('ZREM', lk, unpack(exp)) end
  if #exp == 1000 then more = 1 end
  local dk = K(t, 'done')
  local old = redis.call('ZRANGEBYSCORE', dk, '-inf', N(now - keep * 1000), 'LIMIT', '0', '1000')
  local extra = redis.call('ZCARD', dk) - #old - maxdone
  if extra > 0 and #old < 1000 then
    for _, id in ipairs(redis.call('ZRANGE', dk, #old, #old + math.min(extra, 1000 - #old) - 1)) do
      old[#old + 1] = id
    end
  end
  for _, id in ipairs(old) do drop(t, id) end
  if #old > 0 then redis.call('ZREM', dk, unpack(old)) end
  if #old == 1000 then more = 1 end
  trimmed = trimmed + #old
end
return {back, buried, trimmed, more}
