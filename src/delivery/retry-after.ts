/** A 409 never asks for longer than this, however long the handlers usually take. */
export const MAX_RETRY_AFTER_S = 5

/**
 * How long the claimed step (the handlers, or the hand-off to the queue) usually takes, turned into the
 * seconds a redelivery that found the key claimed is asked to wait.
 */
export class RetryAfterEstimate {
  /** A decaying maximum of the observed durations. */
  #typicalMs = 0

  observe (ms: number): void {
    // jumps up at once, decays slowly: a slow run is remembered for a while
    this.#typicalMs = Math.max(ms, this.#typicalMs * 0.9)
  }

  /** Seconds until a retry is worth it: what is left of the lease, but no more than a run usually takes. */
  seconds (leaseLeftMs: number): number {
    const expectedMs = Math.min(leaseLeftMs, this.#typicalMs)
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(expectedMs / 1000)))
  }
}
