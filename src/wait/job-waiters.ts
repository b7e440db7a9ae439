import { retrying } from '../client/retry.js'
import { codes } from '../errors.js'
import { isJobState, JOB_STATES, type JobState } from '../events.js'
import { describe, integerOption, invalid, optionNames, plainObject, rejectUnknown } from '../validate.js'

/** `app.superai.waitFor(uuid, options)`. */
export interface WaitForOptions {
  /** The states to wait for, callback spelling. Default: those that end a job, COMPLETED, FAILED, CANCELED, EXPIRED. */
  readonly states?: readonly JobState[]
  /** Milliseconds before the wait rejects with `FST_SUPERAI_WAIT_TIMEOUT`. Default 60000. */
  readonly timeout?: number
  /** Aborting it rejects the wait with the signal's reason. */
  readonly signal?: AbortSignal
}

/** What a wait resolves to: the job and the state change that was processed. */
export interface WaitResult {
  readonly uuid: string
  readonly state: JobState
}

export const WAIT_DEFAULTS = Object.freeze({
  states: Object.freeze(['COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED'] as const satisfies readonly JobState[]),
  timeout: 60_000
})

/**
 * What carries processed state changes from every instance sharing the store to this one: a
 * subscription per job, taken when its first waiter arrives and dropped when its last one leaves.
 */
export interface StateChangeFeed {
  /** Resolves once the job's state changes reach this process; those processed before are then read from the store. */
  watch (uuid: string): Promise<void>
  /** The job's last waiter left. */
  unwatch (uuid: string): void
  close (): Promise<void>
}

export interface JobWaitersOptions {
  /**
   * The states of the job already processed (within `ttl`), callback spelling, read from the store after
   * the job is watched, so that a state processed before the wait (submit, then wait) is not missed.
   */
  readonly processedStates?: ((uuid: string) => Promise<Iterable<string>>) | undefined
  /** The feed of other instances' state changes, made at the first wait; none: this process only. */
  readonly feed?: ((notify: (uuid: string, state: string) => void, recheck: () => void) => StateChangeFeed) | undefined
}

interface Waiter {
  readonly uuid: string
  readonly states: ReadonlySet<string>
  readonly resolve: (result: WaitResult) => void
  readonly reject: (reason: unknown) => void
  readonly timer: NodeJS.Timeout
  readonly signal: AbortSignal | undefined
  readonly onAbort: () => void
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const WAIT_OPTIONS = optionNames<WaitForOptions>({ states: true, timeout: true, signal: true })
/** setTimeout's own limit; a longer wait would fire at once. */
const MAX_TIMEOUT = 2 ** 31 - 1

interface ValidWait {
  readonly uuid: string
  readonly states: ReadonlySet<string>
  readonly timeout: number
  readonly signal: AbortSignal | undefined
}

function validate (uuid: unknown, options: unknown): ValidWait {
  if (typeof uuid !== 'string' || !UUID.test(uuid)) throw invalid('uuid', `expected a job's UUID, got ${describe(uuid)}`)
  const { states, timeout, signal } = options === undefined ? {} : plainObject('options', options, '{ states?, timeout?, signal? }')
  if (options !== undefined) rejectUnknown(options as object, WAIT_OPTIONS)
  if (states !== undefined) {
    if (!Array.isArray(states) || states.length === 0) throw invalid('states', 'expected a non-empty array of job states')
    const undocumented: unknown = states.find((state: unknown) => typeof state !== 'string' || !isJobState(state))
    if (undocumented !== undefined) throw invalid('states', `${describe(undocumented)} is not a documented state (${JOB_STATES.join(', ')})`)
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('signal', `expected an AbortSignal, got ${describe(signal)}`)
  return {
    // callbacks carry the uuid in lower case once normalised, and so do the store's marks
    uuid: uuid.toLowerCase(),
    states: new Set((states as readonly string[] | undefined) ?? WAIT_DEFAULTS.states),
    timeout: integerOption('timeout', timeout, WAIT_DEFAULTS.timeout, 1, MAX_TIMEOUT),
    signal
  }
}

/**
 * The waits of one registration (or worker): uuid -> its waiters. A state change processed here or,
 * through the feed, on any instance sharing the store resolves the waiters that wait for its state; a
 * wait that ends for any reason leaves no timer, listener, map entry or subscription behind.
 */
export class JobWaiters {
  readonly #byJob = new Map<string, Set<Waiter>>()
  /** The watch of each job with waiters: resolved once its state changes reach this process. */
  readonly #watches = new Map<string, Promise<void>>()
  readonly #processedStates: JobWaitersOptions['processedStates']
  readonly #makeFeed: JobWaitersOptions['feed']
  #feed: StateChangeFeed | undefined
  #closed = false
  /** Ends the rechecks' waits between attempts on close. */
  readonly #closing = new AbortController()

  constructor (options: JobWaitersOptions = {}) {
    this.#processedStates = options.processedStates
    this.#makeFeed = options.feed
  }

  /** Resolves once a state change of job `uuid` to one of `states` has been processed; see {@link WaitForOptions}. */
  async waitFor (uuid: string, options?: WaitForOptions): Promise<WaitResult> {
    const wait = validate(uuid, options)
    if (wait.signal?.aborted === true) throw wait.signal.reason
    if (this.#closed) throw new codes.FST_SUPERAI_WAIT_CLOSED(wait.uuid)
    return await new Promise<WaitResult>((resolve, reject) => { this.#begin(wait, resolve, reject) })
  }

  /** A state change of job `uuid` was processed (here, or on another instance through the feed). */
  notify (uuid: string, state: string): void {
    const waiters = this.#byJob.get(uuid)
    if (waiters === undefined || !isJobState(state)) return
    for (const waiter of [...waiters]) if (waiter.states.has(state)) this.#settle(waiter, () => { waiter.resolve({ uuid, state }) })
  }

  /** Pending waits and the jobs they watch; for the tests that show that ended waits leave nothing. */
  get pending (): { readonly waits: number, readonly jobs: number } {
    let waits = 0
    for (const waiters of this.#byJob.values()) waits += waiters.size
    return { waits, jobs: this.#watches.size }
  }

  /** Rejects every pending wait with `FST_SUPERAI_WAIT_CLOSED` and closes the feed; later waits reject at once. */
  async close (): Promise<void> {
    this.#closed = true
    this.#closing.abort()
    for (const waiters of [...this.#byJob.values()]) {
      for (const waiter of [...waiters]) this.#settle(waiter, () => { waiter.reject(new codes.FST_SUPERAI_WAIT_CLOSED(waiter.uuid)) })
    }
    await this.#feed?.close()
  }

  #begin (wait: ValidWait, resolve: Waiter['resolve'], reject: Waiter['reject']): void {
    const { uuid, states, timeout, signal } = wait
    const waiter: Waiter = {
      uuid,
      states,
      resolve,
      reject,
      signal,
      timer: setTimeout(() => {
        this.#settle(waiter, () => { reject(new codes.FST_SUPERAI_WAIT_TIMEOUT(uuid, [...states].join(' | '), timeout)) })
      }, timeout),
      onAbort: () => { this.#settle(waiter, () => { reject(signal?.reason) }) }
    }
    signal?.addEventListener('abort', waiter.onAbort, { once: true })
    let waiters = this.#byJob.get(uuid)
    if (waiters === undefined) this.#byJob.set(uuid, waiters = new Set())
    waiters.add(waiter)
    let watch = this.#watches.get(uuid)
    if (watch === undefined) {
      this.#feed ??= this.#makeFeed?.((job, state) => { this.notify(job, state) }, () => { this.#recheckAll() })
      watch = this.#feed?.watch(uuid) ?? Promise.resolve()
      this.#watches.set(uuid, watch)
    }
    // each waiter reads for itself: an earlier waiter of the job may have waited for other states
    watch.then(async () => { await this.#check(waiter) }).catch((error: unknown) => {
      this.#settle(waiter, () => { reject(Object.assign(new codes.FST_SUPERAI_STORE_UNAVAILABLE(), { cause: error })) })
    })
  }

  /** Resolves `waiter` when the store already holds one of its states. */
  async #check (waiter: Waiter): Promise<void> {
    if (this.#processedStates === undefined || !this.#isPending(waiter)) return
    this.#resolveFrom(await this.#processedStates(waiter.uuid), [waiter])
  }

  /** Resolves each of `waiters` still pending whose states `processed` holds. */
  #resolveFrom (processed: Iterable<string>, waiters: Iterable<Waiter>): void {
    const states = [...processed].filter(isJobState)
    for (const waiter of waiters) {
      const state = states.find((processedState) => waiter.states.has(processedState))
      if (state !== undefined) this.#settle(waiter, () => { waiter.resolve({ uuid: waiter.uuid, state }) })
    }
  }

  /**
   * After the feed reconnected: a state change published while it was away is read from the store, one
   * read per job. The store's own connection may come back a moment later, so a failed read is tried
   * again through the client's retry loop while the job has waiters; after that its waiters wait on.
   */
  #recheckAll (): void {
    const read = this.#processedStates
    if (read === undefined) return
    for (const uuid of this.#byJob.keys()) {
      void retrying(async () => {
        const waiters = this.#byJob.get(uuid)
        if (waiters === undefined) return { result: undefined, retryable: false }
        try {
          this.#resolveFrom(await read(uuid), [...waiters])
          return { result: undefined, retryable: false }
        } catch {
          return { result: undefined, retryable: this.#byJob.has(uuid) }
        }
      }, { retries: 8, baseDelay: 100, maxDelay: 2000, longRetryAfter: 'shorten', signal: this.#closing.signal })
    }
  }

  #isPending (waiter: Waiter): boolean {
    return this.#byJob.get(waiter.uuid)?.has(waiter) === true
  }

  /** Ends `waiter` once (removing its timer, listener and, with the job's last waiter, the job's watch), then `end`s it. */
  #settle (waiter: Waiter, end: () => void): void {
    const waiters = this.#byJob.get(waiter.uuid)
    if (waiters?.delete(waiter) !== true) return
    clearTimeout(waiter.timer)
    waiter.signal?.removeEventListener('abort', waiter.onAbort)
    if (waiters.size === 0) {
      this.#byJob.delete(waiter.uuid)
      this.#watches.delete(waiter.uuid)
      this.#feed?.unwatch(waiter.uuid)
    }
    end()
  }
}
