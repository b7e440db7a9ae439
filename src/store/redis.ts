import type { Cluster, Redis } from 'ioredis'
import { PROCESSED, type ClaimResult, type IdempotencyStore } from './store.js'

/**
 * Each step is one Lua script, so each is one round trip and atomic on the server: claim is
 * `SET NX PX` plus, only when the key exists, the read that tells "processed" from "in flight".
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

/** Namespaced so that defining them on a client the user shares with us cannot clash. */
const COMMANDS = {
  superaiCallbacksClaim: CLAIM,
  superaiCallbacksComplete: COMPLETE,
  superaiCallbacksRelease: RELEASE
} as const

type ScriptCommands = {
  readonly [name in keyof typeof COMMANDS]: (key: string, ...args: Array<string | number>) => Promise<number>
}

/** Redis (standalone, Sentinel or Cluster: every command touches one key) behind the store interface. */
export class RedisStore implements IdempotencyStore {
  readonly #commands: ScriptCommands

  constructor (client: Redis | Cluster) {
    for (const [name, lua] of Object.entries(COMMANDS)) {
      // ioredis sends EVALSHA and falls back to EVAL once per connection when the script is not cached
      client.defineCommand(name, { numberOfKeys: 1, lua })
    }
    this.#commands = client as unknown as ScriptCommands
  }

  async claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const reply = await this.#commands.superaiCallbacksClaim(key, token, leaseMs)
    if (reply === -2) return { status: 'claimed' }
    if (reply === -1) return { status: 'processed' }
    // PTTL is -1 only for a key without expiry, which this store never writes; treat it as just expired
    return { status: 'in-flight', retryAfterMs: Math.max(reply, 0) }
  }

  async complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return await this.#commands.superaiCallbacksComplete(key, token, ttlMs) === 1
  }

  async release (key: string, token: string): Promise<boolean> {
    return await this.#commands.superaiCallbacksRelease(key, token) === 1
  }
}
