import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { keySlot } from './key-slot.js'
import { describe, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { PROCESSED, type ClaimResult, type IdempotencyStore, type MarkedClaimResult } from './store.js'

/**
 * The claim for servers without `SET ... NX GET` (before 7.0), and on every server the rare in-flight
 * path: `SET NX PX` plus, only when the key exists, the read that tells "processed" from "in flight",
 * atomic on the server.
 */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -2 end
if redis.call('GET', KEYS[1]) == '${PROCESSED}' then return -1 end
return redis.call('PTTL', KEYS[1])`

const COMPLETE = `
local value = redis.call('GET', KEYS[1])
if value ~= false and value ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], '${PROCESSED}', 'PX', ARGV[2])
return 1`

/**
 * The claim of a delivery that wants the marks too (`claimAndRead`): the same three answers, with the
 * marks read in the same step when it claimed. A table: `{0, marks}`, `{1}` processed, `{2, pttl}`.
 */
const CLAIM_AND_READ = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, tonumber(redis.call('GET', KEYS[2])) or 0} end
if redis.call('GET', KEYS[1]) == '${PROCESSED}' then return {1} end
return {2, redis.call('PTTL', KEYS[1])}`

/** OR the mark in (never a read-then-write race between two completions) and restart its ttl. */
const MARK_LUA = `
local marks = bit.bor(tonumber(redis.call('GET', KEYS[2])) or 0, tonumber(ARGV[3]))
redis.call('SET', KEYS[2], tostring(marks), 'PX', ARGV[2])`

/** COMPLETE, and the mark added whatever the claim says: the handlers did succeed. */
const COMPLETE_AND_MARK = MARK_LUA + COMPLETE

/** The mark alone (the marks are KEYS[1]), for a Cluster where the marks live in another slot than the claim. */
const MARK = MARK_LUA.replaceAll('KEYS[2]', 'KEYS[1]')

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

interface Script { readonly lua: string, readonly sha: string }

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })
const SCRIPTS = {
  claim: script(CLAIM),
  complete: script(COMPLETE),
  release: script(RELEASE),
  claimAndRead: script(CLAIM_AND_READ),
  completeAndMark: script(COMPLETE_AND_MARK),
  mark: script(MARK)
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
}

const REDIS_STORE_OPTIONS = optionNames<RedisStoreOptions>({ nativeClaim: true })

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
 * and the marks share a slot (always outside a Cluster), and otherwise two commands sent together.
 */
export class RedisStore implements IdempotencyStore {
  readonly #client: Redis | Cluster
  #nativeClaim: boolean

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
    plainObject('options', options, 'the RedisStore options { nativeClaim? }')
    rejectUnknown(options, REDIS_STORE_OPTIONS)
    if (options.nativeClaim !== undefined && typeof options.nativeClaim !== 'boolean') throw invalid('nativeClaim', `expected a boolean, got ${describe(options.nativeClaim)}`)
    this.#client = client
    this.#nativeClaim = options.nativeClaim ?? false
  }

  async claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    if (this.#nativeClaim) {
      let previous: string | null
      try {
        previous = await this.#client.set(key, token, 'PX', leaseMs, 'NX', 'GET')
      } catch (err) {
        // a server older than the one asked at start (a failover to an older replica): the script from now on
        if (!isSyntaxError(err)) throw err
        this.#nativeClaim = false
        return await this.claim(key, token, leaseMs)
      }
      if (previous === null) return CLAIMED
      if (previous === PROCESSED) return DONE
      // in flight: the script reads the lease, and decides again if the key changed in between
    }
    const reply = await this.#eval(SCRIPTS.claim, key, token, leaseMs)
    if (reply === -2) return CLAIMED
    if (reply === -1) return DONE
    // PTTL is -1 only for a key without expiry, which this store never writes; treat it as just expired
    return { status: 'in-flight', retryAfterMs: Math.max(reply, 0) }
  }

  async complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return await this.#eval(SCRIPTS.complete, key, token, ttlMs) === 1
  }

  /**
   * One script (one command, in place of the native claim) where the keys share a slot; on a Cluster
   * where they do not, the claim and a GET of the marks, sent together: two commands, one round trip.
   */
  async claimAndRead (key: string, token: string, leaseMs: number, marksKey: string): Promise<MarkedClaimResult> {
    if (!this.#sameSlot(key, marksKey)) {
      const [claimed, marks] = await Promise.all([this.claim(key, token, leaseMs), this.#client.get(marksKey)])
      if (claimed.status === 'claimed') return { status: 'claimed', marks: marksOf(marks) }
      return claimed
    }
    const [status, value = 0] = await this.#evalKeys(SCRIPTS.claimAndRead, [key, marksKey], token, leaseMs) as [number, number?]
    if (status === 0) return { status: 'claimed', marks: value }
    if (status === 1) return DONE
    return { status: 'in-flight', retryAfterMs: Math.max(value, 0) }
  }

  /**
   * One script where the keys share a slot; otherwise the completion and the mark sent together, where a
   * mark that fails while the completion lands is lost (the state is then not remembered), as a write
   * acknowledged just before a failover can be.
   */
  async completeAndMark (key: string, token: string, ttlMs: number, marksKey: string, mark: number): Promise<boolean> {
    if (!this.#sameSlot(key, marksKey)) {
      const [completed] = await Promise.all([
        this.complete(key, token, ttlMs),
        this.#evalKeys(SCRIPTS.mark, [marksKey], token, ttlMs, mark).catch(() => {})
      ])
      return completed
    }
    return await this.#evalKeys(SCRIPTS.completeAndMark, [key, marksKey], token, ttlMs, mark) === 1
  }

  async release (key: string, token: string): Promise<boolean> {
    return await this.#eval(SCRIPTS.release, key, token) === 1
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
