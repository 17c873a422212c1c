// scripts.go holds the Lua scripts that change jobs, each one atomic step in
// Redis: a reader sees a job's document and its log agree. They touch the
// keys of one job and the lease set, so they need a single Redis (or, in a
// cluster, keys in one slot, which these are not).

package redisstore

import "github.com/redis/rueidis"

// The results of appendScript.
const (
	appended  = 1  // the event was appended
	duplicate = 0  // an event with its id is already there (a retried write, or a race)
	gone      = -1 // no such job
	ended     = -2 // the job is no longer running, or another process owns it
	leased    = -3 // the job's lease was renewed: its owner lives
	outOfTurn = -4 // the event's id is not the next one
	exists    = -5 // a job with the id exists already
)

// createScript stores a new job: its document, the events it has (ids 1..n),
// its lease while running, and when its keys expire.
//
//	KEYS: job hash, log stream, lease set
//	ARGV: id, doc, seq (the last event's id), state, owner, lease until (ms),
//	      expire at (ms), then (event id, type, data) for each event
var createScript = rueidis.NewLuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return -5 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'seq', ARGV[3], 'state', ARGV[4], 'owner', ARGV[5])
for i = 8, #ARGV, 3 do
  redis.call('XADD', KEYS[2], '0-' .. ARGV[i], 't', ARGV[i+1], 'd', ARGV[i+2])
end
if ARGV[4] == 'running' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('PEXPIREAT', KEYS[2], ARGV[7])
return 1
`)

// appendScript appends one event to a running job's log and replaces its
// document, as one step; an event already there (a write retried after its
// reply was lost) is left as it is. The owner's writes name the owner, and are refused
// once another process owns or ended the job (fencing); the sweep's name an
// instant, and are refused if the lease was renewed since. An event that
// ends the job drops its lease and starts its time to live.
//
//	KEYS: job hash, log stream, lease set
//	ARGV: id, event id, type, data, doc, state, ttl (ms),
//	      owner ('' for any), lease expired before (ms, '' for no check)
var appendScript = rueidis.NewLuaScript(`
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then return -1 end
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return -2 end
if ARGV[8] ~= '' and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[8] then return -2 end
local ev = tonumber(ARGV[2])
if ev <= tonumber(seq) then return 0 end
if ARGV[9] ~= '' then
  local lease = redis.call('ZSCORE', KEYS[3], ARGV[1])
  if lease and tonumber(lease) >= tonumber(ARGV[9]) then return -3 end
end
if ev ~= tonumber(seq) + 1 then return -4 end
redis.call('XADD', KEYS[2], '0-' .. ARGV[2], 't', ARGV[3], 'd', ARGV[4])
redis.call('HSET', KEYS[1], 'doc', ARGV[5], 'seq', ARGV[2], 'state', ARGV[6])
if ARGV[6] == 'running' then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
else
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
end
return 1
`)

// renewScript renews the leases of the jobs an owner runs, and returns the
// ids of those it no longer runs: gone, ended, or owned by another.
//
//	KEYS: lease set
//	ARGV: owner, lease until (ms), key prefix, then the job ids
var renewScript = rueidis.NewLuaScript(`
local lost = {}
for i = 4, #ARGV do
  local st = redis.call('HMGET', ARGV[3] .. 'job:' .. ARGV[i], 'state', 'owner')
  if st[1] == 'running' and st[2] == ARGV[1] then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
`)
