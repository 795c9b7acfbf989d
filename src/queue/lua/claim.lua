-- claim.lua: leases up to max ready jobs of the given types, best first.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: max lease_ms worker ntypes type1 .. typeN. Returns a job reply per claimed job, best
-- first. Per job: HMGET + HSET; the tokens (INCRBY) and the leased ZADD once per type. The
-- leased member is "<id>:<token>": removing it IS the fencing check of ack/fail. The job's
-- `rk` is left stale: it only means something while the job is ready.
local now = now_us()
local nowN = N(now)
local n, lease, worker, nt = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local types = {}
for i = 1, nt do types[i] = ARGV[4 + i]; promote(types[i], now) end
local picks = {}
if nt == 1 then
  local r = redis.call('ZPOPMIN', K(types[1], 'ready'), ARGV[1])
  for i = 1, #r, 2 do picks[#picks + 1] = {types[1], r[i]} end
else
  local c = {}
  for i = 1, nt do
    for _, m in ipairs(redis.call('ZRANGE', K(types[i], 'ready'), '0', N(n - 1))) do
      c[#c + 1] = {i, m}
    end
  end
  table.sort(c, function(a, b)
    local pa, pb = string.sub(a[2], 1, 1), string.sub(b[2], 1, 1)
    if pa ~= pb then return pa < pb end
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2] end)
  local rem = {}
  for i = 1, math.min(n, #c) do
    local t = types[c[i][1]]
    local z = rem[t] or {}; rem[t] = z
    z[#z + 1] = c[i][2]
    picks[#picks + 1] = {t, c[i][2]}
  end
  for t, z in pairs(rem) do redis.call('ZREM', K(t, 'ready'), unpack(z)) end
end
if #picks == 0 then return {} end
local count, tok = {}, {}
for _, pk in ipairs(picks) do count[pk[1]] = (count[pk[1]] or 0) + 1 end
for t, c in pairs(count) do tok[t] = redis.call('INCRBY', K(t, 'seq'), c) - c + 1 end
local out, leased = {}, {}
local deadline = N(now + lease * 1000)
for _, pk in ipairs(picks) do
  local t, id = pk[1], string.sub(pk[2], 19)
  local jk = JK(t, id)
  local r = redis.call('HMGET', jk, 'payload', 'unique_key', 'errors', 'attempt',
      'max_attempts', 'lease_expiries', 'not_before', 'created', 'priority')
  if r[1] then
    local tk, att = tok[t], tonumber(r[4] or '0') + 1
    tok[t] = tk + 1
    local tks = N(tk)
    redis.call('HSET', jk, 'state', 'leased', 'attempt', N(att), 'token', tks, 'worker', worker,
        'lease_until', deadline, 'updated', nowN)
    local z = leased[t] or {}; leased[t] = z
    z[#z + 1] = deadline; z[#z + 1] = id .. ':' .. tks
    out[#out + 1] = {id, t, 'leased', r[9], r[1], r[2], r[3], worker, att, r[5], r[6], tk,
        r[7], deadline, r[8], nowN}
  end
end
for t, z in pairs(leased) do redis.call('ZADD', K(t, 'leased'), unpack(z)) end
return out
