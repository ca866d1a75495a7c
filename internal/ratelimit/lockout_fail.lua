-- Record one login failure.
--
-- KEYS[1]  hash {fails, locked}
-- ARGV[1]  threshold
-- ARGV[2]  window, ms
-- ARGV[3]  lock duration, ms
--
-- Returns {locked (0/1), retry_after_ms}.
if redis.call('HEXISTS', KEYS[1], 'locked') == 1 then
  -- Already locked: do not count or extend (see Lockout's doc).
  return {1, math.max(redis.call('PTTL', KEYS[1]), 1)}
end

local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
-- Start the window at the first failure. Checking the TTL rather than
-- fails == 1 also repairs a key that somehow lost its expiry.
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end

if fails >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'locked', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, tonumber(ARGV[3])}
end
return {0, 0}
