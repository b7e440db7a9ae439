import type { FastifyBaseLogger } from 'fastify'
import type { IdempotencyStore } from '../store/store.js'
import type { JobMarks } from './supersession.js'

/** First retry after this many ms, doubling up to the cap: short, so a store that is back is told soon. */
const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 1000

type Kind = 'complete' | 'release'

const LEASE_LOST = 'superai-callbacks: the lease ran out before the completion was recorded and another delivery took the claim; raise "lease"'

interface Pending {
  readonly kind: Kind
  readonly token: string
  /** Where a completion records its job's state, when the store keeps a job's states. */
  readonly marks: JobMarks | undefined
  /** After this the write is pointless: the processed mark would have expired, or the claim's lease ran out. */
  readonly deadline: number
  readonly log: FastifyBaseLogger
  retries: number
  timer: NodeJS.Timeout | undefined
}

/**
 * Records the end of a delivery in the store, and keeps trying when the store cannot be reached: a
 * completion that handlers earned is not forgotten because Redis blinked. While a write is pending, this
 * process answers redeliveries of its key as in flight (`isPending`), so the handlers do not run again.
 */
export class Settlement {
  readonly #store: IdempotencyStore
  readonly #ttlMs: number
  readonly #leaseMs: number
  readonly #pending = new Map<string, Pending>()
  /** Writes waiting for the store's answer, awaited by their caller or not (a queue job's completion need not be). */
  #underWay = 0
  /** Flushes waiting for `#underWay` to reach zero. */
  #waiters: Array<() => void> = []

  constructor (store: IdempotencyStore, { ttlMs, leaseMs }: { readonly ttlMs: number, readonly leaseMs: number }) {
    this.#store = store
    this.#ttlMs = ttlMs
    this.#leaseMs = leaseMs
  }

  /** Whether this process still owes the store the outcome of `key`. */
  isPending (key: string): boolean {
    return this.#pending.has(key)
  }

  /** How many outcomes are waiting for the store. */
  get pendingCount (): number {
    return this.#pending.size
  }

  /**
   * Marks `key` processed, and with `marks` adds the state to its job's marks in the same write; a claim
   * another delivery had taken over (a lease too short) is logged.
   */
  async complete (key: string, token: string, log: FastifyBaseLogger, marks?: JobMarks): Promise<void> {
    await this.#write('complete', key, token, log, Date.now() + this.#ttlMs, marks)
  }

  /** Frees the claim so that the next delivery runs the handlers. */
  async release (key: string, token: string, log: FastifyBaseLogger): Promise<void> {
    await this.#write('release', key, token, log, Date.now() + this.#leaseMs, undefined)
  }

  /** One last try for every pending write (at shutdown, before the connection closes); the rest is logged. */
  async flush (): Promise<void> {
    // the writes under way first (a caller need not await one): one that fails becomes pending, and is tried once more below
    if (this.#underWay > 0) await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
    const entries = [...this.#pending]
    for (const [, pending] of entries) clearTimeout(pending.timer)
    await Promise.all(entries.map(async ([key, pending]) => {
      try {
        await this.#send(pending.kind, key, pending.token, pending.marks)
        this.#pending.delete(key)
      } catch (err) {
        this.#pending.delete(key)
        pending.log.error({ err, key, kind: pending.kind },
          'superai-callbacks: shutting down with an outcome the store never recorded; a redelivery after the lease runs the handlers again')
      }
    }))
  }

  /** Never rejects: a write that fails is retried, so a caller may leave it unawaited. */
  async #write (kind: Kind, key: string, token: string, log: FastifyBaseLogger, deadline: number, marks: JobMarks | undefined): Promise<void> {
    this.#underWay++
    try {
      const landed = await this.#send(kind, key, token, marks)
      if (!landed) log.warn({ key }, LEASE_LOST)
    } catch (err) {
      log.error({ err, key }, kind === 'complete'
        ? 'superai-callbacks: handlers ran but the store could not record it; retrying, and redeliveries are answered 409 meanwhile'
        : 'superai-callbacks: could not release the claim; retrying until its lease runs out')
      this.#schedule(key, { kind, token, marks, deadline, log, retries: 0, timer: undefined })
    } finally {
      if (--this.#underWay === 0 && this.#waiters.length > 0) {
        const waiters = this.#waiters
        this.#waiters = []
        for (const resolve of waiters) resolve()
      }
    }
  }

  /** Whether the write landed as asked; a release of a claim no longer ours counts as done. */
  #send (kind: Kind, key: string, token: string, marks: JobMarks | undefined): Promise<boolean> {
    if (kind === 'release') return this.#store.release(key, token).then(() => true)
    return marks === undefined || this.#store.completeAndMark === undefined
      ? this.#store.complete(key, token, this.#ttlMs)
      : this.#store.completeAndMark(key, token, this.#ttlMs, marks.record)
  }

  #schedule (key: string, pending: Pending): void {
    // a newer write for the same key (another claim of this process) supersedes an older one
    const previous = this.#pending.get(key)
    if (previous !== undefined) clearTimeout(previous.timer)
    this.#pending.set(key, pending)
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** pending.retries)
    pending.timer = setTimeout(() => { void this.#retry(key, pending) }, delay)
    pending.timer.unref()
  }

  async #retry (key: string, pending: Pending): Promise<void> {
    if (this.#pending.get(key) !== pending) return
    if (Date.now() >= pending.deadline) {
      this.#pending.delete(key)
      pending.log.error({ key, kind: pending.kind }, 'superai-callbacks: gave up recording an outcome; its window has passed')
      return
    }
    try {
      const landed = await this.#send(pending.kind, key, pending.token, pending.marks)
      if (this.#pending.get(key) !== pending) return
      this.#pending.delete(key)
      if (!landed) {
        pending.log.warn({ key }, LEASE_LOST)
      } else {
        pending.log.info({ key, kind: pending.kind, retries: pending.retries + 1 }, 'superai-callbacks: outcome recorded after the store came back')
      }
    } catch {
      if (this.#pending.get(key) !== pending) return
      pending.retries++
      this.#schedule(key, pending)
    }
  }
}
