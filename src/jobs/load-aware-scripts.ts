// The two scripts of loadAwareElection. Every key of one election shares a hash tag
// (`{prefix:name}`), so each script touches one Cluster slot. Times are the server's
// (TIME), so instance clocks never decide whose load entry has expired.
import { redisScript } from '../core/index.js';

/**
 * One round trip per publish period: drop expired load entries, publish ours, then, as
 * leader, renew the lease (or resign when asked), or, as follower, take a free lease when
 * our load is within `tolerance` of the lowest published one.
 *
 * KEYS: loads (zset member→load), expiry (zset member→expiry ms), leader (string), term (counter).
 * ARGV: id, load, ttlMs, tolerance, mayCampaign (0/1), resign (0/1).
 * Reply: { leading (0/1), term, lowest load, lowest load among the others (-1: none), members }.
 * Loads go back as strings: Lua numbers would be truncated to integers in the reply.
 */
export const TICK = redisScript(`local id, load, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('ZADD', KEYS[1], load, id)
redis.call('ZADD', KEYS[2], now + ttl, id)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('PEXPIRE', KEYS[2], ttl * 2)
local lowest = redis.call('ZRANGE', KEYS[1], 0, 1, 'WITHSCORES')
local best = tonumber(lowest[2])
local peer = -1
if lowest[1] ~= id then peer = tonumber(lowest[2]) elseif lowest[3] then peer = tonumber(lowest[4]) end
local members = redis.call('ZCARD', KEYS[1])
local holder = redis.call('GET', KEYS[3])
local leading, term = 0, 0
if holder == id then
  if ARGV[6] == '1' then
    redis.call('DEL', KEYS[3])
  else
    redis.call('PEXPIRE', KEYS[3], ttl)
    leading = 1
    term = tonumber(redis.call('GET', KEYS[4]) or '0')
  end
elseif not holder and ARGV[5] == '1' and load <= best + tonumber(ARGV[4]) then
  redis.call('SET', KEYS[3], id, 'PX', ttl)
  leading = 1
  -- A missing counter (first use, or Redis lost its data) starts at the server time in
  -- microseconds, so terms keep increasing across a restart without persistence.
  if redis.call('EXISTS', KEYS[4]) == 0 then
    redis.call('SET', KEYS[4], t[1] .. string.format('%06d', tonumber(t[2])))
  end
  term = redis.call('INCR', KEYS[4])
end
return { leading, term, tostring(best), tostring(peer), members }`);

/**
 * Leave the election: withdraw our load entry and, if we hold the lease, free it.
 * KEYS: loads, expiry, leader. ARGV: id. Reply 1 when we held the lease.
 */
export const LEAVE = redisScript(`redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  return 1
end
return 0`);
