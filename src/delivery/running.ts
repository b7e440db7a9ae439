/** Counts the deliveries between their claim and their outcome, so that shutdown can wait for them. */
export class RunningDeliveries {
  #count = 0
  /** Everyone waiting for the count to reach zero (two concurrent `idle()` calls both resolve). */
  #waiters: Array<() => void> = []

  /** Counts the delivery as running until `promise` settles; no wrapper of its own on the hot path. */
  track<T> (promise: Promise<T>): Promise<T> {
    this.#count++
    return promise.finally(() => {
      if (--this.#count === 0 && this.#waiters.length > 0) {
        const waiters = this.#waiters
        this.#waiters = []
        for (const resolve of waiters) resolve()
      }
    })
  }

  /** Resolves once none is running. */
  async idle (): Promise<void> {
    if (this.#count > 0) await new Promise<void>((resolve) => { this.#waiters.push(resolve) })
  }
}
