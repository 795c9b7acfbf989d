-- list.lua: jobs by state and type.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: state('' any) type('' any) limit. Returns job replies.
local now = now_us()
local st, ty, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local types
if ty ~= '' then types = {ty} else
  types = redis.call('SMEMBERS', 'omniva:types'); table.sort(types) end
local states = {'ready', 'delayed', 'leased', 'dead', 'done'}
if st ~= '' then states = {st} end
local out = {}
for _, t in ipairs(types) do
  promote(t, now)
  for _, s in ipairs(states) do
    local left = limit - #out
    if left <= 0 then return out end
    for _, m in ipairs(redis.call('ZRANGE', K(t, s), '0', N(left - 1))) do
      local id = m
      if s == 'ready' then id = string.sub(m, 19) elseif s == 'leased' then id = mid(m) end
      out[#out + 1] = reply(t, id, now)
    end
  end
end
return out
