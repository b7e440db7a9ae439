import { setTimeout as sleep } from 'node:timers/promises'
import { codes } from '../errors.js'
import type { Delivery, PipelineOutcome } from './outcome.js'
import type { RetryAfterEstimate } from './retry-after.js'
import type { Settlement } from './settlement.js'

/** Stores a claimed callback durably for a worker (queue mode); rejects when it could not. */
export type Handoff = (delivery: Delivery) => Promise<void>

/** Claims a delivery's key: the claim token, or the outcome that ends the delivery there. */
export type Claim = (delivery: Delivery) => Promise<string | PipelineOutcome>

/**
 * A redelivery that finds the first delivery between its claim and its enqueue (a few ms) waits up to
 * this long for it to settle, so that it is answered 200 duplicate rather than 409.
 */
export const HANDOFF_WAIT_MS = 1000

/**
 * Queue mode's step after the key: claim -> hand off -> settle. Acknowledged only once stored, so the
 * claim is released when the hand-off fails. A redelivery racing the first one's claim-then-enqueue waits
 * for it (bounded) instead of a 409: in this process deliveries of one key take turns; another process's
 * claim is polled.
 */
export class QueueHandoff {
  readonly #handoff: Handoff
  readonly #claim: Claim
  readonly #settlement: Settlement
  readonly #durations: Pick<RetryAfterEstimate, 'observe'>
  /** The hand-offs under way in this process, by key, for redeliveries to wait on. */
  readonly #underWay = new Map<string, Promise<unknown>>()

  constructor (parts: {
    readonly handoff: Handoff
    readonly claim: Claim
    readonly settlement: Settlement
    /** Told how long each hand-off took, for the Retry-After of the 409s meanwhile. */
    readonly durations: Pick<RetryAfterEstimate, 'observe'>
  }) {
    this.#handoff = parts.handoff
    this.#claim = parts.claim
    this.#settlement = parts.settlement
    this.#durations = parts.durations
  }

  /** Claims, hands off and settles `delivery`, after any hand-off of its key under way here. Never throws. */
  async deliver (delivery: Delivery): Promise<PipelineOutcome> {
    const { key } = delivery
    const previous = this.#underWay.get(key)
    const current = (async () => {
      if (previous !== undefined) await previous
      return await this.#pollClaimAndHandOff(delivery)
    })()
    this.#underWay.set(key, current)
    try {
      return await current
    } finally {
      if (this.#underWay.get(key) === current) this.#underWay.delete(key)
    }
  }

  async #pollClaimAndHandOff (delivery: Delivery): Promise<PipelineOutcome> {
    const deadline = performance.now() + HANDOFF_WAIT_MS
    for (let pause = 2; ; pause *= 2) {
      const claimed = await this.#claim(delivery)
      if (typeof claimed === 'string') return await this.#handOff(delivery, claimed)
      const left = deadline - performance.now()
      if (claimed.status !== 'inFlight' || left <= 0) return claimed
      await sleep(Math.min(pause, left))
    }
  }

  async #handOff (delivery: Delivery, token: string): Promise<PipelineOutcome> {
    const startedAt = performance.now()
    try {
      await this.#handoff(delivery)
    } catch (err) {
      delivery.log.error({ err, key: delivery.key }, 'super.AI callback: could not store it in the queue')
      await this.#settlement.release(delivery.key, token, delivery.log)
      return { status: 'storeUnavailable', error: new codes.FST_SUPERAI_STORE_UNAVAILABLE(), delivery }
    }
    // stored: the job id keeps a second enqueue out and the worker's run claim a second run, so the 202
    // need not wait for the mark
    this.#settlement.completeSoon(delivery.key, token, delivery.log)
    this.#durations.observe(performance.now() - startedAt)
    return { status: 'queued', delivery }
  }
}
