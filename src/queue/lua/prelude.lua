-- prelude.lua: helpers every queue script starts with (queue_redis.c prepends this file to
-- each script before loading it). Key layout and the reasons for it: queue_redis.c.
local PFX = 'omniva:{'
local function K(t, s) return PFX .. t .. '}:' .. s end
local function JK(t, id) return PFX .. t .. '}:job:' .. id end
local function N(x) return string.format('%d', x) end
local function now_us() local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local function mid(m) return string.sub(m, 1, string.find(m, ':', 1, true) - 1) end
local FIELDS = {'id','type','state','priority','payload','unique_key','errors',
    'worker','attempt','max_attempts','lease_expiries','token','not_before','lease_until',
    'created','updated'}
local function reply(t, id, now)
  local r = redis.call('HMGET', JK(t, id), unpack(FIELDS))
  r[1], r[2] = id, t
  if now and r[3] == 'delayed' and r[13] and tonumber(r[13]) <= now then r[3] = 'ready' end
  return r end
local function tick(t, now)
  local ck = K(t, 'clock')
  local c = tonumber(redis.call('GET', ck) or '0')
  local rt = now
  if rt <= c then rt = c + 1 end
  redis.call('SET', ck, N(rt))
  return rt end
-- A token on the type's wake list for a worker blocked in BLPOP (queue_redis.c rd_wait);
-- at most 8 kept, so a list nobody waits on stays small.
local function wake(t)
  local wk = K(t, 'wake')
  redis.call('LPUSH', wk, '1')
  redis.call('LTRIM', wk, '0', '7') end
local function to_ready(t, id, p, rt)
  local m = string.format('%d%016d:', 9 - p, rt) .. id
  redis.call('ZADD', K(t, 'ready'), '0', m)
  wake(t)
  return m end
local function promote(t, now)
  local dk = K(t, 'delayed')
  local due = redis.call('ZRANGEBYSCORE', dk, '-inf', N(now), 'LIMIT', '0', '1000')
  for _, id in ipairs(due) do
    local jk = JK(t, id)
    local v = redis.call('HMGET', jk, 'priority', 'not_before')
    if v[1] then
      local m = to_ready(t, id, tonumber(v[1]), tonumber(v[2]))
      redis.call('HSET', jk, 'state', 'ready', 'rk', m)
    end
  end
  if #due > 0 then redis.call('ZREM', dk, unpack(due)) end
end
local function iso(us)
  local s = math.floor(us / 1000000)
  local frac = us - s * 1000000
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
      - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d,
      math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, frac) end
local function add_error(errs, attempt, now, ejson)
  local e = '{"attempt":' .. string.format('%d', attempt) .. ',"at":"' .. iso(now)
      .. '","error":' .. ejson .. '}'
  if not errs or errs == '' or errs == '[]' then return '[' .. e .. ']' end
  return string.sub(errs, 1, -2) .. ',' .. e .. ']' end
local function drop(t, id)
  local jk = JK(t, id)
  local uk = redis.call('HGET', jk, 'unique_key')
  if uk then
    local uq = K(t, 'unique')
    if redis.call('HGET', uq, uk) == id then redis.call('HDEL', uq, uk) end
  end
  redis.call('DEL', jk) end
local function type_of(id)
  for _, t in ipairs(redis.call('SMEMBERS', 'omniva:types')) do
    if redis.call('EXISTS', JK(t, id)) == 1 then return t end
  end
  return nil end
local function stale(t, id)
  local v = redis.call('HMGET', JK(t, id), 'state', 'token')
  if not v[1] then return {-1} end
  return {0, v[1], v[2]} end
