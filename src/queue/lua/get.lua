-- get.lua: one job by id.
-- Run by queue_redis.c with prelude.lua in front (its K, JK, N, now_us, ... helpers).
--
-- ARGV: id. Returns a job reply or false.
local id = ARGV[1]
local t = type_of(id)
if not t then return false end
return reply(t, id, now_us())
