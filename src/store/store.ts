/** What a delivery learns when it tries to claim its idempotency key. */
export type ClaimResult =
  | { readonly status: 'claimed' }
  /** Another delivery holds the claim; it expires in `retryAfterMs` unless that delivery settles first. */
  | { readonly status: 'in-flight', readonly retryAfterMs: number }
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
}

/** The value a processed key holds; claim tokens are longer, so the two never collide. */
export const PROCESSED = '1'
