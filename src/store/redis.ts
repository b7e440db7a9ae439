import type { Cluster, Redis } from 'ioredis'
import { keySlot } from './key-slot.js'
import { OpBatch } from './op-batch.js'
import { SCRIPTS, type Script } from './redis-scripts.js'
import { describe, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { HANDLED, PROCESSED, isProcessed, type ClaimResult, type IdempotencyStore, type JobStatesQuery, type MarkedClaimResult, type StateRecord } from './store.js'

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

/** `claimAndRead`'s script answer: `{0, marks}` claimed, `{1}` processed, `{2, pttl}` in flight; then the anchor read, if any. */
function markedClaimResultOf (reply: unknown): MarkedClaimResult {
  const [status, value = 0, stored] = reply as [number, number?, unknown?]
  const anchor = typeof stored === 'string' ? stored : undefined
  if (status === 0) return anchor === undefined ? { status: 'claimed', marks: value } : { status: 'claimed', marks: value, anchor }
  if (status === 1) return anchor === undefined ? DONE : { status: 'processed', anchor }
  return { status: 'inFlight', retryAfterMs: Math.max(value, 0), ...(anchor === undefined ? {} : { anchor }) }
}

const isOne = (reply: unknown): boolean => reply === 1

/** The major version in `INFO server`'s `redis_version`; 0 when it cannot be read. */
async function serverMajorVersion (client: Redis | Cluster): Promise<number> {
  const info = await client.info('server')
  return Number(/^redis_version:(\d+)\./m.exec(info)?.[1] ?? 0)
}

/** The batch script's letter and arguments of a state record: a state key and 0, or the marks key and its mark. */
const recordOf = (record: StateRecord): [key: string, mark: number] => 'stateKey' in record ? [record.stateKey, 0] : [record.marksKey, record.mark]

/** The announcement's channel and state as the scripts take them: an empty channel announces nothing. */
const announcementOf = (record: StateRecord): [channel: string, state: string] => record.announce === undefined ? ['', ''] : [record.announce.channel, record.announce.state]

/** `claimAndRead`'s keys and its arguments after the token and lease, as the scripts read them. */
function readArgsOf (key: string, query: JobStatesQuery): [keys: string[], args: Array<string | number>] {
  const keys = [key]
  if (query.marksKey !== undefined) keys.push(query.marksKey)
  if (query.anchorKey !== undefined) keys.push(query.anchorKey)
  keys.push(...query.stateKeys)
  const flags = (query.marksKey === undefined ? 0 : 1) | (query.anchorKey === undefined ? 0 : 2)
  return [keys, [flags, query.stateKeys.length, ...query.stateBits]]
}

/** Marks as stored: a decimal integer, or nothing. */
const marksOf = (value: string | null): number => {
  const marks = Number(value ?? 0)
  return Number.isSafeInteger(marks) && marks >= 0 ? marks : 0
}

/**
 * Redis (standalone, Sentinel or Cluster) behind the store interface. Every command touches one key, or
 * keys that share a Cluster slot: `claimAndRead` and `completeAndMark` are one script each where their
 * keys share a slot (always outside a Cluster, and on one for a job's own keys, which share a hash tag),
 * and otherwise commands sent together. Outside a Cluster the operations of one turn go as one script
 * call (`OpBatch`).
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

  async claimAndRead (key: string, token: string, leaseMs: number, query: JobStatesQuery): Promise<MarkedClaimResult> {
    const [keys, args] = readArgsOf(key, query)
    return await this.#op('r', keys, [token, leaseMs, ...args], markedClaimResultOf, async () => await this.#claimAndRead(key, token, leaseMs, query))
  }

  async completeAndMark (key: string, token: string, ttlMs: number, record: StateRecord): Promise<boolean> {
    const [recordKey, mark] = recordOf(record)
    const [channel, state] = announcementOf(record)
    return await this.#op('m', [key, recordKey], [token, ttlMs, mark, channel, state], isOne, async () => await this.#completeAndMark(key, token, ttlMs, recordKey, mark, channel, state))
  }

  /** One MGET: a job's state keys share a slot (their hash tag), so this holds on a Cluster too. */
  async handled (keys: readonly string[]): Promise<boolean[]> {
    if (keys.length === 0) return []
    return (await this.#client.mget(...keys)).map((value) => value === HANDLED)
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
      if (isProcessed(previous)) return DONE
      // in flight: the script reads the lease, and decides again if the key changed in between
    }
    return claimResultOf(await this.#eval(SCRIPTS.claim, key, token, leaseMs))
  }

  async #complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return isOne(await this.#eval(SCRIPTS.complete, key, token, ttlMs))
  }

  /**
   * One script (one command, in place of the native claim) reading the keys in the claim's slot (all of
   * them outside a Cluster, and a job's state keys on one: they share its hash tag); on a Cluster, a key
   * in another slot (a marks key) is read by a GET sent with the script: two commands, one round trip.
   */
  async #claimAndRead (key: string, token: string, leaseMs: number, query: JobStatesQuery): Promise<MarkedClaimResult> {
    const near = (other: string): boolean => this.#sameSlot(key, other)
    if ((query.marksKey === undefined || near(query.marksKey)) && (query.anchorKey === undefined || near(query.anchorKey)) && query.stateKeys.every(near)) {
      const [keys, args] = readArgsOf(key, query)
      return markedClaimResultOf(await this.#evalKeys(SCRIPTS.claimAndRead, keys, token, leaseMs, ...args))
    }
    const nearStates = query.stateKeys.flatMap((stateKey, i) => near(stateKey) ? [i] : [])
    const farStates = query.stateKeys.flatMap((stateKey, i) => near(stateKey) ? [] : [i])
    const marksNear = query.marksKey !== undefined && near(query.marksKey)
    const anchorNear = query.anchorKey !== undefined && near(query.anchorKey)
    const [keys, args] = readArgsOf(key, {
      marksKey: marksNear ? query.marksKey : undefined,
      anchorKey: anchorNear ? query.anchorKey : undefined,
      stateKeys: nearStates.map((i) => query.stateKeys[i] as string),
      stateBits: nearStates.map((i) => query.stateBits[i] ?? 0)
    })
    const [claimed, marks, farAnchor, ...far] = await Promise.all([
      this.#evalKeys(SCRIPTS.claimAndRead, keys, token, leaseMs, ...args).then(markedClaimResultOf),
      query.marksKey === undefined || marksNear ? null : this.#client.get(query.marksKey),
      // another slot (a custom key's job): read beside the script, in the same round trip
      query.anchorKey === undefined || anchorNear ? null : this.#client.get(query.anchorKey).catch(() => null),
      ...farStates.map(async (i) => await this.#client.get(query.stateKeys[i] as string))
    ])
    const anchor = claimed.anchor ?? farAnchor ?? undefined
    if (claimed.status !== 'claimed') return anchor === undefined ? claimed : { ...claimed, anchor }
    const all = far.reduce((bits, value, j) => value === HANDLED ? bits | (query.stateBits[farStates[j] as number] ?? 0) : bits, claimed.marks | marksOf(marks))
    return anchor === undefined ? { status: 'claimed', marks: all } : { status: 'claimed', marks: all, anchor }
  }

  /**
   * One script where the keys share a slot; otherwise the completion and the record sent together, where
   * a record that fails while the completion lands is lost (the state is then not remembered), as a write
   * acknowledged just before a failover can be.
   */
  async #completeAndMark (key: string, token: string, ttlMs: number, recordKey: string, mark: number, channel: string, state: string): Promise<boolean> {
    if (!this.#sameSlot(key, recordKey)) {
      const [completed] = await Promise.all([
        this.#complete(key, token, ttlMs),
        this.#evalKeys(SCRIPTS.recordState, [recordKey], ttlMs, mark, channel, state).catch(() => {})
      ])
      return completed
    }
    return isOne(await this.#evalKeys(SCRIPTS.completeAndMark, [key, recordKey], token, ttlMs, mark, channel, state))
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
