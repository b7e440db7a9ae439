import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { keySlot } from './key-slot.js'
import { OpBatch } from './op-batch.js'
import { describe, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { PROCESSED, type ClaimResult, type IdempotencyStore, type MarkedClaimResult } from './store.js'

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
  if redis.call('GET', key) == '${PROCESSED}' then return -1 end
  return redis.call('PTTL', key)
end`,
  /** The claim of a delivery that wants the marks too: a table, `{0, marks}` claimed, `{1}` processed, `{2, pttl}`. */
  claimAndRead: `local function claimAndRead (key, marksKey, token, lease)
  if redis.call('SET', key, token, 'NX', 'PX', lease) then return {0, tonumber(redis.call('GET', marksKey)) or 0} end
  if redis.call('GET', key) == '${PROCESSED}' then return {1} end
  return {2, redis.call('PTTL', key)}
end`,
  /** 1 recorded; 0 when another token holds the key (this one's lease ran out and another took over). */
  complete: `local function complete (key, token, ttl)
  local value = redis.call('GET', key)
  if value ~= false and value ~= token then return 0 end
  redis.call('SET', key, '${PROCESSED}', 'PX', ttl)
  return 1
end`,
  /** OR the mark in (never a read-then-write race between two completions) and restart its ttl. */
  mark: `local function mark (marksKey, ttl, bits)
  local marks = bit.bor(tonumber(redis.call('GET', marksKey)) or 0, tonumber(bits))
  redis.call('SET', marksKey, tostring(marks), 'PX', ttl)
end`,
  /** The mark added whatever the completion answers: the handlers did succeed. */
  completeAndMark: `local function completeAndMark (key, marksKey, token, ttl, bits)
  mark(marksKey, ttl, bits)
  return complete(key, token, ttl)
end`,
  release: `local function release (key, token)
  if redis.call('GET', key) == token then return redis.call('DEL', key) end
  return 0
end`
} as const

/** A script that defines `uses` and returns `body`. */
const lua = (uses: ReadonlyArray<keyof typeof FUNCTIONS>, body: string): string => `${uses.map((name) => FUNCTIONS[name]).join('\n')}\n${body}`

/**
 * The operations of one turn (`OpBatch`), in order: each a letter and its arguments in ARGV, its keys next
 * in KEYS. Each runs in `pcall`, so an error (a key of another type) is its own entry, not the batch's.
 */
const BATCH = lua(['claim', 'claimAndRead', 'complete', 'mark', 'completeAndMark', 'release'], `
local out, k, a = {}, 1, 1
while a <= #ARGV do
  local op, ok, result = ARGV[a]
  if op == 'c' then
    ok, result = pcall(claim, KEYS[k], ARGV[a + 1], ARGV[a + 2])
    k, a = k + 1, a + 3
  elseif op == 'r' then
    ok, result = pcall(claimAndRead, KEYS[k], KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
    k, a = k + 2, a + 3
  elseif op == 'f' then
    ok, result = pcall(complete, KEYS[k], ARGV[a + 1], ARGV[a + 2])
    k, a = k + 1, a + 3
  elseif op == 'm' then
    ok, result = pcall(completeAndMark, KEYS[k], KEYS[k + 1], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3])
    k, a = k + 2, a + 4
  elseif op == 'x' then
    ok, result = pcall(release, KEYS[k], ARGV[a + 1])
    k, a = k + 1, a + 2
  else
    return redis.error_reply('unknown store operation ' .. tostring(op))
  end
  if ok then out[#out + 1] = result else out[#out + 1] = redis.error_reply(type(result) == 'table' and result.err or tostring(result)) end
end
return out`)

interface Script { readonly lua: string, readonly sha: string }

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })
const SCRIPTS = {
  claim: script(lua(['claim'], 'return claim(KEYS[1], ARGV[1], ARGV[2])')),
  complete: script(lua(['complete'], 'return complete(KEYS[1], ARGV[1], ARGV[2])')),
  release: script(lua(['release'], 'return release(KEYS[1], ARGV[1])')),
  claimAndRead: script(lua(['claimAndRead'], 'return claimAndRead(KEYS[1], KEYS[2], ARGV[1], ARGV[2])')),
  completeAndMark: script(lua(['complete', 'mark', 'completeAndMark'], 'return completeAndMark(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])')),
  /** The mark alone (the marks are KEYS[1]), for a Cluster where the marks live in another slot than the claim. */
  mark: script(lua(['mark'], 'mark(KEYS[1], ARGV[2], ARGV[3])')),
  batch: script(BATCH)
} as const

/** Claim results carry no per-delivery data except the in-flight one, so they are shared. */
const CLAIMED: ClaimResult = Object.freeze({ status: 'claimed' })
const DONE = Object.freeze({ status: 'processed' }) satisfies ClaimResult & MarkedClaimResult

const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT')
/** What a server before 7.0 answers to `SET ... NX GET`. */
const isSyntaxError = (err: unknown): boolean => err instanceof Error && err.message.startsWith('ERR syntax error')

export interface RedisStoreOptions {
  /**
   * Claim with one native `SET key token NX PX lease GET` (Redis >= 7.0) instead of a Lua script.
   * Default: false, which works on every server; `RedisStore.create` asks the server.
   */
  readonly nativeClaim?: boolean
  /**
   * Send the claims, completions and releases of one turn of the event loop as one script call, each
   * operation with its own answer (a turn with one operation sends it alone). Default true; never on a
   * Cluster, where one script may only touch one slot.
   */
  readonly batch?: boolean
}

const REDIS_STORE_OPTIONS = optionNames<RedisStoreOptions>({ nativeClaim: true, batch: true })

/** The claim script's answer as a claim: -2 claimed, -1 processed, else the lease's PTTL. */
function claimResultOf (reply: unknown): ClaimResult {
  if (reply === -2) return CLAIMED
  if (reply === -1) return DONE
  // PTTL is -1 only for a key without expiry, which this store never writes; treat it as just expired
  return { status: 'inFlight', retryAfterMs: Math.max(Number(reply), 0) }
}

/** `claimAndRead`'s script answer: `{0, marks}` claimed, `{1}` processed, `{2, pttl}` in flight. */
function markedClaimResultOf (reply: unknown): MarkedClaimResult {
  const [status, value = 0] = reply as [number, number?]
  if (status === 0) return { status: 'claimed', marks: value }
  if (status === 1) return DONE
  return { status: 'inFlight', retryAfterMs: Math.max(value, 0) }
}

const isOne = (reply: unknown): boolean => reply === 1

/** The major version in `INFO server`'s `redis_version`; 0 when it cannot be read. */
async function serverMajorVersion (client: Redis | Cluster): Promise<number> {
  const info = await client.info('server')
  return Number(/^redis_version:(\d+)\./m.exec(info)?.[1] ?? 0)
}

/** Marks as stored: a decimal integer, or nothing. */
const marksOf = (value: string | null): number => {
  const marks = Number(value ?? 0)
  return Number.isSafeInteger(marks) && marks >= 0 ? marks : 0
}

/**
 * Redis (standalone, Sentinel or Cluster) behind the store interface. Every command touches one key, or
 * two that share a Cluster slot: `claimAndRead` and `completeAndMark` are one script each where the claim
 * and the marks share a slot (always outside a Cluster), and otherwise two commands sent together. Outside
 * a Cluster the operations of one turn go as one script call (`OpBatch`).
 */
export class RedisStore implements IdempotencyStore {
  readonly #client: Redis | Cluster
  #nativeClaim: boolean
  readonly #batch: OpBatch | undefined

  /**
   * A store whose claim is one native command when the server supports it. The client is asked only
   * when it is connected; otherwise, or when the version cannot be read, the claim is the script.
   */
  static async create (client: Redis | Cluster): Promise<RedisStore> {
    const major = client.status === 'ready' ? await serverMajorVersion(client).catch(() => 0) : 0
    if (client.status === 'ready' && !client.isCluster) {
      // cached before the first delivery: a NOSCRIPT answer costs its command one more round trip, so a
      // release sent behind a claim that Redis was too frozen to answer would land after the next claim
      await Promise.all(Object.values(SCRIPTS).map(async ({ lua }) => await (client as Redis).script('LOAD', lua))).catch(() => {})
    }
    return new RedisStore(client, { nativeClaim: major >= 7 })
  }

  constructor (client: Redis | Cluster, options: RedisStoreOptions = {}) {
    plainObject('options', options, 'the RedisStore options { nativeClaim?, batch? }')
    rejectUnknown(options, REDIS_STORE_OPTIONS)
    for (const name of ['nativeClaim', 'batch'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') throw invalid(name, `expected a boolean, got ${describe(options[name])}`)
    }
    this.#client = client
    this.#nativeClaim = options.nativeClaim ?? false
    this.#batch = client.isCluster || options.batch === false
      ? undefined
      : new OpBatch(async (keys, args) => await this.#evalKeys(SCRIPTS.batch, keys, ...args))
  }

  async claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    return await this.#op('c', [key], [token, leaseMs], claimResultOf, async () => await this.#claim(key, token, leaseMs))
  }

  async complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return await this.#op('f', [key], [token, ttlMs], isOne, async () => await this.#complete(key, token, ttlMs))
  }

  async claimAndRead (key: string, token: string, leaseMs: number, marksKey: string): Promise<MarkedClaimResult> {
    return await this.#op('r', [key, marksKey], [token, leaseMs], markedClaimResultOf, async () => await this.#claimAndRead(key, token, leaseMs, marksKey))
  }

  async completeAndMark (key: string, token: string, ttlMs: number, marksKey: string, mark: number): Promise<boolean> {
    return await this.#op('m', [key, marksKey], [token, ttlMs, mark], isOne, async () => await this.#completeAndMark(key, token, ttlMs, marksKey, mark))
  }

  async release (key: string, token: string): Promise<boolean> {
    return await this.#op('x', [key], [token], isOne, async () => await this.#release(key, token))
  }

  /** An operation into this turn's batch (its letter in the batch script, its keys and arguments), or `alone` where nothing is batched. */
  #op<T> (code: string, keys: readonly string[], args: ReadonlyArray<string | number>, parse: (reply: unknown) => T, alone: () => Promise<T>): Promise<T> {
    return this.#batch === undefined ? alone() : this.#batch.run(code, keys, args, parse, alone)
  }

  async #claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    if (this.#nativeClaim) {
      let previous: string | null
      try {
        previous = await this.#client.set(key, token, 'PX', leaseMs, 'NX', 'GET')
      } catch (err) {
        // a server older than the one asked at start (a failover to an older replica): the script from now on
        if (!isSyntaxError(err)) throw err
        this.#nativeClaim = false
        return await this.#claim(key, token, leaseMs)
      }
      if (previous === null) return CLAIMED
      if (previous === PROCESSED) return DONE
      // in flight: the script reads the lease, and decides again if the key changed in between
    }
    return claimResultOf(await this.#eval(SCRIPTS.claim, key, token, leaseMs))
  }

  async #complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return isOne(await this.#eval(SCRIPTS.complete, key, token, ttlMs))
  }

  /**
   * One script (one command, in place of the native claim) where the keys share a slot; on a Cluster
   * where they do not, the claim and a GET of the marks, sent together: two commands, one round trip.
   */
  async #claimAndRead (key: string, token: string, leaseMs: number, marksKey: string): Promise<MarkedClaimResult> {
    if (!this.#sameSlot(key, marksKey)) {
      const [claimed, marks] = await Promise.all([this.#claim(key, token, leaseMs), this.#client.get(marksKey)])
      if (claimed.status === 'claimed') return { status: 'claimed', marks: marksOf(marks) }
      return claimed
    }
    return markedClaimResultOf(await this.#evalKeys(SCRIPTS.claimAndRead, [key, marksKey], token, leaseMs))
  }

  /**
   * One script where the keys share a slot; otherwise the completion and the mark sent together, where a
   * mark that fails while the completion lands is lost (the state is then not remembered), as a write
   * acknowledged just before a failover can be.
   */
  async #completeAndMark (key: string, token: string, ttlMs: number, marksKey: string, mark: number): Promise<boolean> {
    if (!this.#sameSlot(key, marksKey)) {
      const [completed] = await Promise.all([
        this.#complete(key, token, ttlMs),
        this.#evalKeys(SCRIPTS.mark, [marksKey], token, ttlMs, mark).catch(() => {})
      ])
      return completed
    }
    return isOne(await this.#evalKeys(SCRIPTS.completeAndMark, [key, marksKey], token, ttlMs, mark))
  }

  async #release (key: string, token: string): Promise<boolean> {
    return isOne(await this.#eval(SCRIPTS.release, key, token))
  }

  async acquire (key: string, ttlMs: number): Promise<boolean> {
    return await this.#client.set(key, PROCESSED, 'PX', ttlMs, 'NX') === 'OK'
  }

  async read (key: string): Promise<string | undefined> {
    return await this.#client.get(key) ?? undefined
  }

  async write (key: string, value: string, ttlMs: number): Promise<void> {
    await this.#client.set(key, value, 'PX', ttlMs)
  }

  /** Whether one script may touch both keys: anywhere but on a Cluster, and there when they share a slot. */
  #sameSlot (a: string, b: string): boolean {
    return !this.#client.isCluster || keySlot(a) === keySlot(b)
  }

  async #eval (script: Script, key: string, ...args: Array<string | number>): Promise<number> {
    return await this.#evalKeys(script, [key], ...args) as number
  }

  /** EVALSHA by the precomputed digest; EVAL (which also caches the script) on a server that lacks it. */
  async #evalKeys (script: Script, keys: readonly string[], ...args: Array<string | number>): Promise<unknown> {
    try {
      return await this.#client.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!isNoScript(err)) throw err
      return await this.#client.eval(script.lua, keys.length, ...keys, ...args)
    }
  }
}
