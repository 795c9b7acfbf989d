-- enqueue.lua: enqueues a batch of jobs (new ids or unique keys only).
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: n, then per job: type id priority delay_ms unique_key('' none) max_attempts payload
-- created_us(0 now) fresh(1: the client made the id up, no need to look for it). Returns
-- id1, created1, id2, created2, ... Per new job: one HSET (+ HGET/HSET of its unique key,
-- + EXISTS for a given id); the ready/delayed ZADDs, the clock and the types set are
-- written once per type.
local now = now_us()
local nowN = N(now)
local n = tonumber(ARGV[1])
local out, clock, ready, delayed = {}, {}, {}, {}
for i = 0, n - 1 do
  local b = 2 + i * 9
  local t, id, p, delay = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local uk, maxa, payload, created = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], tonumber(ARGV[b + 7])
  local jk = JK(t, id)
  local have = false
  if uk ~= '' then
    local e = redis.call('HGET', K(t, 'unique'), uk)
    if e and redis.call('EXISTS', JK(t, e)) == 1 then have = e end
  end
  if not have and ARGV[b + 8] ~= '1' and redis.call('EXISTS', jk) == 1 then have = id end
  if have then
    out[#out + 1] = have; out[#out + 1] = 0
  else
    local f = {'priority', ARGV[b + 2], 'payload', payload, 'max_attempts', maxa, 'created',
        created > 0 and ARGV[b + 7] or nowN}
    if delay > 0 then
      local nb = N(now + delay * 1000)
      local z = delayed[t] or {}; delayed[t] = z
      z[#z + 1] = nb; z[#z + 1] = id
      f[#f + 1] = 'state'; f[#f + 1] = 'delayed'; f[#f + 1] = 'not_before'; f[#f + 1] = nb
    else
      local c = clock[t]
      if not c then c = tonumber(redis.call('GET', K(t, 'clock')) or '0') end
      local rt = now
      if rt <= c then rt = c + 1 end
      clock[t] = rt
      local m = string.format('%d%016d:', 9 - p, rt) .. id
      local z = ready[t] or {}; ready[t] = z
      z[#z + 1] = '0'; z[#z + 1] = m
      f[#f + 1] = 'state'; f[#f + 1] = 'ready'; f[#f + 1] = 'not_before'; f[#f + 1] = N(rt)
      f[#f + 1] = 'rk'; f[#f + 1] = m
    end
    if uk ~= '' then
      f[#f + 1] = 'unique_key'; f[#f + 1] = uk
      redis.call('HSET', K(t, 'unique'), uk, id)
    end
    redis.call('HSET', jk, unpack(f))
    out[#out + 1] = id; out[#out + 1] = 1
  end
end
local types = {}
for t, z in pairs(ready) do redis.call('ZADD', K(t, 'ready'), unpack(z)); types[t] = 1; wake(t) end
for t, z in pairs(delayed) do redis.call('ZADD', K(t, 'delayed'), unpack(z)); types[t] = 1 end
for t, c in pairs(clock) do redis.call('SET', K(t, 'clock'), N(c)) end
for t, _ in pairs(types) do redis.call('SADD', 'omniva:types', t) end
return out
