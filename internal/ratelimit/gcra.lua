-- GCRA rate limit step. All times are integer microseconds, which stay exact
-- in Lua's doubles (now is about 2^51).
--
-- KEYS[1]  the key holding the theoretical arrival time (TAT)
-- ARGV[1]  emission interval: Period/Rate
-- ARGV[2]  burst
--
-- Returns {allowed (0/1), remaining, retry_after, reset_after}.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- A missing or stale TAT means the bucket is full.
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end

-- The request is allowed if, after it, the TAT runs no further ahead of now
-- than burst intervals.
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end

-- The key expires once the bucket is full again: nothing to remember then.
-- string.format keeps all digits (tostring would print 1.7e+15).
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl_ms)
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
