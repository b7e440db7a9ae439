import { describe, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'
import { HANDLED, PROCESSED, isProcessed, type ClaimResult, type IdempotencyStore, type JobStatesQuery, type MarkedClaimResult, type StateRecord } from './store.js'

export interface MemoryStoreOptions {
  /** At most this many keys are kept; past it the oldest 1/64 are dropped (the dedupe window shrinks). */
  readonly maxEntries?: number
  /** Clock in milliseconds; injectable so tests need not sleep. */
  readonly now?: () => number
}

const MEMORY_STORE_OPTIONS = optionNames<MemoryStoreOptions>({ maxEntries: true, now: true })

interface Entry { readonly value: string, readonly expiresAt: number }

/**
 * One process only: for development, tests and single-instance services. Bounded and expiring, with no
 * timer: expired keys go when touched, and the oldest when the bound is reached (a Map iterates in
 * insertion order, and every write re-inserts its key).
 */
export class MemoryStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>()
  readonly #maxEntries: number
  readonly #now: () => number

  constructor (options: MemoryStoreOptions = {}) {
    plainObject('options', options, 'the MemoryStore options { maxEntries?, now? }')
    rejectUnknown(options, MEMORY_STORE_OPTIONS)
    if (options.now !== undefined && typeof options.now !== 'function') throw invalid('now', `expected a function returning milliseconds, got ${describe(options.now)}`)
    this.#maxEntries = integerOption('maxEntries', options.maxEntries, 100_000, 1)
    this.#now = options.now ?? Date.now
  }

  /** Keys currently held, expired ones not yet dropped included. */
  get size (): number {
    return this.#entries.size
  }

  async claim (key: string, token: string, leaseMs: number): Promise<ClaimResult> {
    const entry = this.#live(key)
    if (entry === undefined) {
      this.#write(key, token, leaseMs)
      return { status: 'claimed' }
    }
    if (isProcessed(entry.value)) return { status: 'processed' }
    return { status: 'inFlight', retryAfterMs: entry.expiresAt - this.#now() }
  }

  async complete (key: string, token: string, ttlMs: number): Promise<boolean> {
    return this.#complete(key, token, ttlMs, PROCESSED)
  }

  async claimAndRead (key: string, token: string, leaseMs: number, query: JobStatesQuery): Promise<MarkedClaimResult> {
    const claimed = await this.claim(key, token, leaseMs)
    const anchor = query.anchorKey === undefined ? undefined : this.#live(query.anchorKey)?.value
    if (claimed.status !== 'claimed') return anchor === undefined ? claimed : { ...claimed, anchor }
    let marks = query.marksKey === undefined ? 0 : Number(this.#live(query.marksKey)?.value ?? 0)
    query.stateKeys.forEach((stateKey, i) => { if (this.#live(stateKey)?.value === HANDLED) marks |= query.stateBits[i] ?? 0 })
    return anchor === undefined ? { status: 'claimed', marks } : { status: 'claimed', marks, anchor }
  }

  async completeAndMark (key: string, token: string, ttlMs: number, record: StateRecord): Promise<boolean> {
    // one synchronous step: no other completion runs between the read and the write
    if ('stateKey' in record) {
      if (record.stateKey === key) return this.#complete(key, token, ttlMs, HANDLED)
      this.#write(record.stateKey, HANDLED, ttlMs)
    } else {
      this.#write(record.marksKey, String(Number(this.#live(record.marksKey)?.value ?? 0) | record.mark), ttlMs)
    }
    return this.#complete(key, token, ttlMs, PROCESSED)
  }

  async handled (keys: readonly string[]): Promise<boolean[]> {
    return keys.map((key) => this.#live(key)?.value === HANDLED)
  }

  async release (key: string, token: string): Promise<boolean> {
    if (this.#live(key)?.value !== token) return false
    return this.#entries.delete(key)
  }

  async acquire (key: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false
    this.#write(key, PROCESSED, ttlMs)
    return true
  }

  async read (key: string): Promise<string | undefined> {
    return this.#live(key)?.value
  }

  async write (key: string, value: string, ttlMs: number): Promise<void> {
    this.#write(key, value, ttlMs)
  }

  #complete (key: string, token: string, ttlMs: number, value: string): boolean {
    const entry = this.#live(key)
    if (entry !== undefined && entry.value !== token) return false
    this.#write(key, value, ttlMs)
    return true
  }

  #live (key: string): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry !== undefined && entry.expiresAt <= this.#now()) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #write (key: string, value: string, ms: number): void {
    this.#entries.delete(key)
    this.#entries.set(key, { value, expiresAt: this.#now() + ms })
    if (this.#entries.size > this.#maxEntries) this.#evictOldest()
  }

  /**
   * Drops the oldest 1/64 of the keys in one pass. A Map keeps deleted slots at its front until it
   * rehashes, so evicting one key per write would walk those holes every time.
   */
  #evictOldest (): void {
    let excess = this.#entries.size - this.#maxEntries + Math.ceil(this.#maxEntries / 64)
    for (const key of this.#entries.keys()) {
      if (excess-- <= 0) break
      this.#entries.delete(key)
    }
  }
}
