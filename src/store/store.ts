/** What a delivery learns when it tries to claim its idempotency key. */
export type ClaimResult =
  | { readonly status: 'claimed' }
  /** Another delivery holds the claim; it expires in `retryAfterMs` unless that delivery settles first. */
  | { readonly status: 'inFlight', readonly retryAfterMs: number }
  | { readonly status: 'processed' }

/**
 * `claimAndRead`'s answer: a claim, and when it was claimed the marks held at the marks key (0 when none).
 * The marks are read only for a delivery that will run; the other answers carry none.
 */
export type MarkedClaimResult =
  | { readonly status: 'claimed', readonly marks: number }
  | { readonly status: 'inFlight', readonly retryAfterMs: number }
  | { readonly status: 'processed' }

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
   * `claim`, and in the same step the marks at `marksKey`: a set of bits (a non-negative integer below
   * 2^31) that only ever grows, kept beside the claims. The plugin keeps one per job, a bit per state
   * whose handlers succeeded, to tell a late state change (`context.superseded`). Optional, with
   * `completeAndMark`: a store with neither remembers nothing per job, and every state change is then
   * `superseded: false`; a store with only one of them is used as if it had neither.
   */
  claimAndRead? (key: string, token: string, leaseMs: number, marksKey: string): Promise<MarkedClaimResult>
  /**
   * `complete`, and in the same step OR `mark` into the marks at `marksKey`, which then expire `ttlMs`
   * from now. The mark is added whatever `complete` answers: the handlers did succeed. Concurrent calls
   * never lose a bit (no read-then-write race), so the marks never go backwards.
   */
  completeAndMark? (key: string, token: string, ttlMs: number, marksKey: string, mark: number): Promise<boolean>
}

/** A store that remembers marks beside its claims (both optional methods present). */
export type MarkingStore = IdempotencyStore & Required<Pick<IdempotencyStore, 'claimAndRead' | 'completeAndMark'>>

export const isMarkingStore = (store: IdempotencyStore): store is MarkingStore =>
  typeof store.claimAndRead === 'function' && typeof store.completeAndMark === 'function'

/** The value a processed key holds; claim tokens are longer, so the two never collide. */
export const PROCESSED = '1'
