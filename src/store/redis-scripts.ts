import { createHash } from 'node:crypto'
import { HANDLED, PROCESSED } from './store.js'

/** Whether a value a claim finds means the callback was processed (stored, or its handlers succeeded). */
const IS_PROCESSED = `(value == '${PROCESSED}' or value == '${HANDLED}')`

/**
 * Each operation once, as a Lua function: the scripts below call one of them (or, the batch, any of them
 * in turn), so an operation means the same whether it is sent alone or in a batch.
 */
const FUNCTIONS = {
  /**
   * The claim as a script: alone on servers without `SET ... NX GET` (before 7.0) and on every server for
   * the rare in-flight path, and in every batch. `SET NX PX` plus, only when the key exists, the read that
   * tells "processed" from "in flight", atomic on the server. -2 claimed, -1 processed, else the lease's PTTL.
   */
  claim: `local function claim (key, token, lease)
  if redis.call('SET', key, token, 'NX', 'PX', lease) then return -2 end
  local value = redis.call('GET', key)
  if ${IS_PROCESSED} then return -1 end
  return redis.call('PTTL', key)
end`,
  /**
   * The claim of a delivery that wants its job's processed states: a table, `{0, marks}` claimed, `{1}`
   * processed, `{2, pttl}`. The marks are the bits at `marksKey` (a per-job key; false when none is read)
   * ORed with the bit of each of `states` whose key holds HANDLED. With `anchorKey` (a submitted job's
   * stored trace context), its value comes third in every answer.
   */
  claimAndRead: `local function claimAndRead (key, token, lease, marksKey, states, bits, anchorKey)
  local claimed = claim(key, token, lease)
  local anchor = false
  if anchorKey then anchor = redis.call('GET', anchorKey) end
  if claimed == -1 then return {1, 0, anchor} end
  if claimed ~= -2 then return {2, claimed, anchor} end
  local marks = 0
  if marksKey then marks = tonumber(redis.call('GET', marksKey)) or 0 end
  for i = 1, #states do
    if redis.call('GET', states[i]) == '${HANDLED}' then marks = bit.bor(marks, tonumber(bits[i])) end
  end
  return {0, marks, anchor}
end`,
  /** 1 recorded (`value` for ttl); 0 when another token holds the key (this one's lease ran out and another took over). */
  complete: `local function complete (key, token, ttl, value)
  local held = redis.call('GET', key)
  if held ~= false and held ~= token then return 0 end
  redis.call('SET', key, value, 'PX', ttl)
  return 1
end`,
  /**
   * Tells whoever waits for the job (another instance's `waitFor`) that its state was processed: a
   * PUBLISH on the job's channel, in the completion's own script so that it costs no round trip, and
   * Redis one lookup when nobody listens. An empty channel publishes nothing.
   */
  announce: `local function announce (channel, state)
  if channel ~= '' then redis.call('PUBLISH', channel, state) end
end`,
  /**
   * Records that a job's state was processed: `mark` 0, as HANDLED in `record`, the key of the callback;
   * else by ORing `mark` into the marks at `record` (never a read-then-write race between two
   * completions). Either restarts the record's ttl. Then announces it on `channel`.
   */
  recordState: `local function recordState (record, ttl, mark, channel, state)
  if mark == '0' then
    redis.call('SET', record, '${HANDLED}', 'PX', ttl)
  else
    local marks = bit.bor(tonumber(redis.call('GET', record)) or 0, tonumber(mark))
    redis.call('SET', record, tostring(marks), 'PX', ttl)
  end
  announce(channel, state)
end`,
  /**
   * The completion of a delivery whose handlers succeeded, recording its job's state whatever the
   * completion answers (the handlers did succeed). A state recorded in the delivery's own key is its
   * completion's value; a queue worker's run claim records it in the callback's key.
   */
  completeAndMark: `local function completeAndMark (key, record, token, ttl, mark, channel, state)
  if mark == '0' and record == key then
    local completed = complete(key, token, ttl, '${HANDLED}')
    announce(channel, state)
    return completed
  end
  recordState(record, ttl, mark, channel, state)
  return complete(key, token, ttl, '${PROCESSED}')
end`,
  release: `local function release (key, token)
  if redis.call('GET', key) == token then return redis.call('DEL', key) end
  return 0
end`
} as const

/** A script that defines `uses` and returns `body`. */
const lua = (uses: ReadonlyArray<keyof typeof FUNCTIONS>, body: string): string => `${uses.map((name) => FUNCTIONS[name]).join('\n')}\n${body}`

/**
 * `claimAndRead`'s arguments from KEYS[k] and ARGV[a]: KEYS the claim key, the marks key when ARGV[a + 2]
 * has bit 1, the anchor key when it has bit 2, then ARGV[a + 3] state keys; ARGV the token, the lease,
 * those flags, the count and each state's bit. Answers them, where the next operation's keys and
 * arguments start, then the anchor key.
 */
const READ_ARGS = `local function readArgs (k, a)
  local flags, n = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local first, marksKey, anchorKey = k + 1, false, false
  if flags % 2 == 1 then marksKey, first = KEYS[first], first + 1 end
  if flags >= 2 then anchorKey, first = KEYS[first], first + 1 end
  local states, bits = {}, {}
  for i = 1, n do
    states[i] = KEYS[first + i - 1]
    bits[i] = ARGV[a + 3 + i]
  end
  return KEYS[k], ARGV[a], ARGV[a + 1], marksKey, states, bits, first + n, a + 4 + n, anchorKey
end`

/**
 * The operations of one turn (`OpBatch`), in order: each a letter and its arguments in ARGV, its keys next
 * in KEYS. Each runs in `pcall`, so an error (a key of another type) is its own entry, not the batch's.
 */
const BATCH = lua(['claim', 'claimAndRead', 'complete', 'announce', 'recordState', 'completeAndMark', 'release'], `${READ_ARGS}
local out, k, a = {}, 1, 1
while a <= #ARGV do
  local op, ok, result = ARGV[a]
  if op == 'c' then
    ok, result = pcall(claim, KEYS[k], ARGV[a + 1], ARGV[a + 2])
    k, a = k + 1, a + 3
  elseif op == 'r' then
    local key, token, lease, marksKey, states, bits, nextK, nextA, anchorKey = readArgs(k, a + 1)
    ok, result = pcall(claimAndRead, key, token, lease, marksKey, states, bits, anchorKey)
    k, a = nextK, nextA
  elseif op == 'f' then
    ok, result = pcall(complete, KEYS[k], ARGV[a + 1], ARGV[a + 2], '${PROCESSED}')
    k, a = k + 1, a + 3
  elseif op == 'm' then
    ok, result = pcall(completeAndMark, KEYS[k], KEYS[k + 1], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
    k, a = k + 2, a + 6
  elseif op == 'x' then
    ok, result = pcall(release, KEYS[k], ARGV[a + 1])
    k, a = k + 1, a + 2
  else
    return redis.error_reply('unknown store operation ' .. tostring(op))
  end
  if ok then out[#out + 1] = result else out[#out + 1] = redis.error_reply(type(result) == 'table' and result.err or tostring(result)) end
end
return out`)

export interface Script { readonly lua: string, readonly sha: string }

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })

/** Every script the Redis store sends, by what it does; each EVALSHA'd by its precomputed digest. */
export const SCRIPTS = {
  claim: script(lua(['claim'], 'return claim(KEYS[1], ARGV[1], ARGV[2])')),
  complete: script(lua(['complete'], `return complete(KEYS[1], ARGV[1], ARGV[2], '${PROCESSED}')`)),
  release: script(lua(['release'], 'return release(KEYS[1], ARGV[1])')),
  claimAndRead: script(lua(['claim', 'claimAndRead'], `${READ_ARGS}\nlocal key, token, lease, marksKey, states, bits, _, _, anchorKey = readArgs(1, 1)\nreturn claimAndRead(key, token, lease, marksKey, states, bits, anchorKey)`)),
  completeAndMark: script(lua(['complete', 'announce', 'recordState', 'completeAndMark'], 'return completeAndMark(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])')),
  /** The record alone (KEYS[1]), for a Cluster where it lives in another slot than the completed key. */
  recordState: script(lua(['announce', 'recordState'], 'recordState(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])')),
  batch: script(BATCH)
} as const
