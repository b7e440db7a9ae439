import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { describe, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { PROCESSED, type ClaimResult, type IdempotencyStore } from './store.js'

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

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

interface Script { readonly lua: string, readonly sha: string }

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') })
const SCRIPTS = { claim: script(CLAIM), complete: script(COMPLETE), release: script(RELEASE) } as const

/** Claim results carry no per-delivery data except the in-flight one, so they are shared. */
const CLAIMED: ClaimResult = Object.freeze({ status: 'claimed' })
const DONE: ClaimResult = Object.freeze({ status: 'processed' })

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

/** Redis (standalone, Sentinel or Cluster: every command touches one key) behind the store interface. */
export class RedisStore implements IdempotencyStore {
  readonly #client: Redis | Cluster
  #nativeClaim: boolean

  /**
   * A store whose claim is one native command when the server supports it. The client is asked only
   * when it is connected; otherwise, or when the version cannot be read, the claim is the script.
   */
  static async create (client: Redis | Cluster): Promise<RedisStore> {
    const major = client.status === 'ready' ? await serverMajorVersion(client).catch(() => 0) : 0
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

  /** EVALSHA by the precomputed digest; EVAL (which also caches the script) on a server that lacks it. */
  async #eval (script: Script, key: string, ...args: Array<string | number>): Promise<number> {
    try {
      return await this.#client.evalsha(script.sha, 1, key, ...args) as number
    } catch (err) {
      if (!isNoScript(err)) throw err
      return await this.#client.eval(script.lua, 1, key, ...args) as number
    }
  }
}
