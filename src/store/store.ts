/** What a delivery learns when it tries to claim its idempotency key. */
export type ClaimResult =
  | { readonly status: 'claimed' }
  /** Another delivery holds the claim; it expires in `retryAfterMs` unless that delivery settles first. */
  | { readonly status: 'inFlight', readonly retryAfterMs: number }
  | { readonly status: 'processed' }

/**
 * `claimAndRead`'s answer: a claim, and when it was claimed the job's processed states it read, as bits
 * (0 when none). They are read only for a delivery that will run; the other answers carry none.
 */
export type MarkedClaimResult =
  | { readonly status: 'claimed', readonly marks: number, readonly anchor?: string | undefined }
  | { readonly status: 'inFlight', readonly retryAfterMs: number, readonly anchor?: string | undefined }
  | { readonly status: 'processed', readonly anchor?: string | undefined }

/**
 * Where a claim reads which states of a job were processed, as a set of bits: the marks kept at
 * `marksKey` (a non-negative integer below 2^31, ORed in by completions), and the bit of each of
 * `stateKeys` whose key holds HANDLED (the keys of the job's state changes, when they derive from its
 * uuid and state).
 */
export interface JobStatesQuery {
  readonly marksKey?: string | undefined
  readonly stateKeys: readonly string[]
  /** The bit of each of `stateKeys`, in the same order. */
  readonly stateBits: readonly number[]
  /**
   * The `telemetry` option: a key whose value (the trace context a job was submitted in) the claim reads
   * in the same step and answers as `anchor`, whatever it decides. A store may ignore it: no link is made.
   */
  readonly anchorKey?: string | undefined
}

/**
 * Where a completion records that its job reached a state: `stateKey` set to HANDLED (the key of the state
 * change: the completed key itself, or, for a queue worker's run claim, the callback's key), or `mark` ORed
 * into the marks at `marksKey`.
 */
export type StateRecord =
  | { readonly stateKey: string, readonly announce?: StateAnnouncement | undefined }
  | { readonly marksKey: string, readonly mark: number, readonly announce?: StateAnnouncement | undefined }

/**
 * Where a store shared by several processes tells them that a job's state was processed, in the same
 * step as its record (`app.superai.waitFor` on another instance): `state` published on `channel`. A store
 * may ignore it; waits then resolve only in the process that ran the handlers.
 */
export interface StateAnnouncement {
  readonly channel: string
  readonly state: string
}

/**
 * The two-phase idempotency store every backend implements (memory, Redis, a user's own). A key moves
 * absent -> claimed(token, lease) -> processed(ttl), or back to absent when its owner releases it. Only
 * the token that claimed a key may release or complete it, so a delivery whose lease ran out can never
 * delete or overwrite the claim of the delivery that took over.
 */
export interface IdempotencyStore {
  /** Atomically claim `key` for `token` for `leaseMs`, unless it is already claimed or processed. */
  claim (key: string, token: string, leaseMs: number): Promise<ClaimResult>
  /**
   * Remember `key` as processed for `ttlMs`. Resolves false, changing nothing, when the key is now
   * claimed by another token (this delivery's lease ran out and another took over).
   */
  complete (key: string, token: string, ttlMs: number): Promise<boolean>
  /** Drop the claim so the next delivery runs the handlers; false when `token` no longer owns it. */
  release (key: string, token: string): Promise<boolean>
  /**
   * Take `key` for `ttlMs` unless it is held (`SET NX PX`); true when taken. It is never released: it
   * expires. Reconciliation's shared schedule; a store without it cannot reconcile.
   */
  acquire? (key: string, ttlMs: number): Promise<boolean>
  /** The value of `key`, undefined when absent or expired (reconciliation's shared watermark). */
  read? (key: string): Promise<string | undefined>
  /** Set `key` to `value` for `ttlMs`, whatever it held. */
  write? (key: string, value: string, ttlMs: number): Promise<void>
  /**
   * `claim`, and in the same step which states of the claim's job were processed (`query`): the plugin
   * reads them to tell a late state change (`context.superseded`). Optional, with `completeAndMark`: a
   * store with neither remembers nothing per job, and every state change is then `superseded: false`; a
   * store with only one of them is used as if it had neither.
   */
  claimAndRead? (key: string, token: string, leaseMs: number, query: JobStatesQuery): Promise<MarkedClaimResult>
  /**
   * `complete`, and in the same step `record` the job's state, which then expires `ttlMs` from now. The
   * state is recorded whatever `complete` answers, except where it is the completed key's own value (a
   * newer claim holds that key): the handlers did succeed. Concurrent calls never lose a mark (no
   * read-then-write race), so a job's states never go backwards.
   */
  completeAndMark? (key: string, token: string, ttlMs: number, record: StateRecord): Promise<boolean>
  /**
   * Which of `keys` (keys of state changes, as `JobStatesQuery.stateKeys`) hold HANDLED: a job's
   * processed states, read at once. Optional.
   */
  handled? (keys: readonly string[]): Promise<boolean[]>
}

/** A store that remembers marks beside its claims (both optional methods present). */
export type MarkingStore = IdempotencyStore & Required<Pick<IdempotencyStore, 'claimAndRead' | 'completeAndMark'>>

export const isMarkingStore = (store: IdempotencyStore): store is MarkingStore =>
  typeof store.claimAndRead === 'function' && typeof store.completeAndMark === 'function'

/**
 * The value a processed key holds (stored, in queue mode; claim tokens are longer, so the two never collide),
 * as every earlier version wrote it.
 */
export const PROCESSED = '1'
/**
 * The value of a processed state change whose handlers succeeded (or that was skipped as superseded): what
 * a job's processed states are read from. Another value than PROCESSED, which queue mode writes on enqueue.
 */
export const HANDLED = '2'

/** Whether a key's value says its callback was processed. */
export const isProcessed = (value: string | null | undefined): boolean => value === PROCESSED || value === HANDLED
