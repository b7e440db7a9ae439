// the named export: declarations then refer to `import("@fastify/error").FastifyErrorConstructor`, which every
// module resolution finds; through the default import they said `createError.…`, a namespace ESM consumers lack
import { createError } from '@fastify/error'

/**
 * Every error the plugin, the client and the CLI raise: one `@fastify/error` each, so users match on
 * `err.code` and Fastify serialises them as `{ statusCode, code, error, message }`.
 */
export const codes = {
  /** `register` was given an option it cannot use; the message names the option. */
  FST_SUPERAI_INVALID_OPTION: createError<'FST_SUPERAI_INVALID_OPTION', 500, [string, string]>(
    'FST_SUPERAI_INVALID_OPTION', 'Invalid option "%s": %s', 500),
  /** The plugin was registered a second time in one scope (`app.superai` is there already). */
  FST_SUPERAI_ALREADY_REGISTERED: createError<'FST_SUPERAI_ALREADY_REGISTERED', 500, []>(
    'FST_SUPERAI_ALREADY_REGISTERED', 'fastify-superai-callbacks is already registered in this scope; register it once per app (or per encapsulated context)', 500),
  FST_SUPERAI_INVALID_JSON: createError<'FST_SUPERAI_INVALID_JSON', 400, [string]>(
    'FST_SUPERAI_INVALID_JSON', 'Callback body is not valid JSON: %s', 400),
  FST_SUPERAI_INVALID_BODY: createError<'FST_SUPERAI_INVALID_BODY', 400, [string]>(
    'FST_SUPERAI_INVALID_BODY', 'Callback body does not match the super.AI callback schema: %s', 400),
  FST_SUPERAI_UNKNOWN_VALUE: createError<'FST_SUPERAI_UNKNOWN_VALUE', 400, [string, string]>(
    'FST_SUPERAI_UNKNOWN_VALUE', 'Undocumented %s "%s" rejected (unknownValues: "reject")', 400),
  FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE: createError<'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', 415, [string]>(
    'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', 'Callbacks must be sent as application/json, got "%s"', 415),
  FST_SUPERAI_BODY_TOO_LARGE: createError<'FST_SUPERAI_BODY_TOO_LARGE', 413, [number]>(
    'FST_SUPERAI_BODY_TOO_LARGE', 'Callback body is larger than the limit of %d bytes', 413),
  FST_SUPERAI_UNAUTHORIZED: createError<'FST_SUPERAI_UNAUTHORIZED', 401, []>(
    'FST_SUPERAI_UNAUTHORIZED', 'Missing or invalid callback token', 401),
  FST_SUPERAI_FORBIDDEN: createError<'FST_SUPERAI_FORBIDDEN', 403, []>(
    'FST_SUPERAI_FORBIDDEN', 'Callbacks are not accepted from this address', 403),
  FST_SUPERAI_IN_FLIGHT: createError<'FST_SUPERAI_IN_FLIGHT', 409, [number]>(
    'FST_SUPERAI_IN_FLIGHT', 'This callback is being processed by another delivery; retry in %d s', 409),
  FST_SUPERAI_HANDLER_FAILED: createError<'FST_SUPERAI_HANDLER_FAILED', 500, [number, number]>(
    'FST_SUPERAI_HANDLER_FAILED', '%d of %d callback handlers failed; the callback will be processed again on redelivery', 500),
  /**
   * Queue mode, BullMQ's `failedReason` of a try that failed and will be tried again: which try, why,
   * and when the next one runs (a redelivery does not run it: it is stored already).
   */
  FST_SUPERAI_QUEUE_TRY_FAILED: createError<'FST_SUPERAI_QUEUE_TRY_FAILED', 500, [string, string, string]>(
    'FST_SUPERAI_QUEUE_TRY_FAILED', 'Try %s failed (%s); it is retried after the backoff, in %s', 500),
  /** Queue mode, BullMQ's `failedReason` of the last try: the callback is a dead letter until it is replayed. */
  FST_SUPERAI_DEAD_LETTER: createError<'FST_SUPERAI_DEAD_LETTER', 500, [string, string, string, string]>(
    'FST_SUPERAI_DEAD_LETTER',
    'Try %s failed (%s); the callback is now a dead letter, kept for %s: replay it with app.superai.deadLetters.replay([%s]) or superai-callbacks dead-letters replay', 500),
  FST_SUPERAI_INVALID_IDEMPOTENCY_KEY: createError<'FST_SUPERAI_INVALID_IDEMPOTENCY_KEY', 500, []>(
    'FST_SUPERAI_INVALID_IDEMPOTENCY_KEY', 'The idempotencyKey option returned an empty or over-long key', 500),
  FST_SUPERAI_STORE_UNAVAILABLE: createError<'FST_SUPERAI_STORE_UNAVAILABLE', 503, []>(
    'FST_SUPERAI_STORE_UNAVAILABLE', 'The idempotency store is unavailable; nothing was processed, retry later', 503),
  FST_SUPERAI_UNKNOWN_EVENT: createError<'FST_SUPERAI_UNKNOWN_EVENT', 500, [string]>(
    'FST_SUPERAI_UNKNOWN_EVENT', 'Unknown super.AI event "%s"', 500),
  FST_SUPERAI_INVALID_HANDLER: createError<'FST_SUPERAI_INVALID_HANDLER', 500, [string]>(
    'FST_SUPERAI_INVALID_HANDLER', 'The handler for "%s" is not a function', 500),
  FST_SUPERAI_VERIFICATION_FAILED: createError<'FST_SUPERAI_VERIFICATION_FAILED', 422, [string]>(
    'FST_SUPERAI_VERIFICATION_FAILED', 'The callback does not agree with the job at super.AI: %s', 422),
  FST_SUPERAI_VERIFY_UNAVAILABLE: createError<'FST_SUPERAI_VERIFY_UNAVAILABLE', 503, []>(
    'FST_SUPERAI_VERIFY_UNAVAILABLE', 'The job could not be fetched from super.AI to verify the callback; nothing was processed, retry later', 503),
  /** The callback announces a state the job can still reach but the API does not show yet: the sender retries. */
  FST_SUPERAI_VERIFY_API_BEHIND: createError<'FST_SUPERAI_VERIFY_API_BEHIND', 503, [string, string]>(
    'FST_SUPERAI_VERIFY_API_BEHIND', 'The super.AI API has not caught up with this callback yet (the job is %s, the callback says %s); nothing was processed, retry later', 503),
  FST_SUPERAI_INTERNAL: createError<'FST_SUPERAI_INTERNAL', 500, []>(
    'FST_SUPERAI_INTERNAL', 'Internal error while processing the callback', 500),
  /** A callback URL that super.AI would refuse; the message says why. */
  FST_SUPERAI_INVALID_CALLBACK_URL: createError<'FST_SUPERAI_INVALID_CALLBACK_URL', 400, [string, string]>(
    'FST_SUPERAI_INVALID_CALLBACK_URL', 'Invalid callback URL "%s": %s', 400),
  /** The super.AI API answered with an error status; `status` and `body` are attached. */
  FST_SUPERAI_API_ERROR: createError<'FST_SUPERAI_API_ERROR', 502, [string, number]>(
    'FST_SUPERAI_API_ERROR', 'super.AI API %s answered %d', 502),
  /** The super.AI API did not answer within the timeout. */
  FST_SUPERAI_API_TIMEOUT: createError<'FST_SUPERAI_API_TIMEOUT', 504, [string, number]>(
    'FST_SUPERAI_API_TIMEOUT', 'super.AI API %s did not answer within %d ms', 504),
  /** The super.AI API could not be reached (DNS, refused, reset); the network error is the `cause`. */
  FST_SUPERAI_API_UNREACHABLE: createError<'FST_SUPERAI_API_UNREACHABLE', 502, [string, string]>(
    'FST_SUPERAI_API_UNREACHABLE', 'super.AI API %s could not be reached: %s', 502),
  /** The super.AI API answered 2xx with a body that does not match the expected schema. */
  FST_SUPERAI_API_INVALID_RESPONSE: createError<'FST_SUPERAI_API_INVALID_RESPONSE', 502, [string, string]>(
    'FST_SUPERAI_API_INVALID_RESPONSE', 'super.AI API %s answered with an unexpected body: %s', 502),
  /** `app.superai.reconcile()` could not list a single project's jobs (API down, refused key, timeout); the API error is the `cause`. */
  FST_SUPERAI_RECONCILE_FAILED: createError<'FST_SUPERAI_RECONCILE_FAILED', 502, [string]>(
    'FST_SUPERAI_RECONCILE_FAILED', 'Reconciliation could not list the jobs at super.AI: %s', 502),
  /** `app.superai.reconcile()` was called without the `reconcile` option. */
  FST_SUPERAI_RECONCILE_NOT_CONFIGURED: createError<'FST_SUPERAI_RECONCILE_NOT_CONFIGURED', 500, []>(
    'FST_SUPERAI_RECONCILE_NOT_CONFIGURED', 'Reconciliation is not configured: register the plugin with the "reconcile" option', 500),
  /**
   * Another plugin on the callback route refused a delivery on purpose with a 4xx of its own and no code
   * (@fastify/rate-limit's 429 through `routeConfig`): the reply keeps that plugin's status and message.
   */
  FST_SUPERAI_REFUSED_BY_PLUGIN: createError<'FST_SUPERAI_REFUSED_BY_PLUGIN', 429, [string]>(
    'FST_SUPERAI_REFUSED_BY_PLUGIN', '%s', 429),
  /** `signature` is set and the callback carries no (or an empty) `X-SuperAI-Webhook-Signature` header; decided before the body is read. */
  FST_SUPERAI_SIGNATURE_MISSING: createError<'FST_SUPERAI_SIGNATURE_MISSING', 401, []>(
    'FST_SUPERAI_SIGNATURE_MISSING', 'The callback carries no X-SuperAI-Webhook-Signature header', 401),
  /** `signature` is set and no configured key verifies the callback's signature; nothing was stored or queued. */
  FST_SUPERAI_SIGNATURE_INVALID: createError<'FST_SUPERAI_SIGNATURE_INVALID', 401, []>(
    'FST_SUPERAI_SIGNATURE_INVALID', 'The callback\'s X-SuperAI-Webhook-Signature does not verify with the configured public key', 401),
  /** `signCallback` or the CLI's `--sign-key` was given something other than an EC private key; the key is never quoted. */
  FST_SUPERAI_INVALID_SIGNING_KEY: createError<'FST_SUPERAI_INVALID_SIGNING_KEY', 500, [string]>(
    'FST_SUPERAI_INVALID_SIGNING_KEY', 'The signing key must be an EC private key (PEM, SEC1 or PKCS#8, or a KeyObject): %s', 500),
  /** Queue mode was asked for but the optional `bullmq` package cannot be loaded. */
  FST_SUPERAI_QUEUE_UNAVAILABLE: createError<'FST_SUPERAI_QUEUE_UNAVAILABLE', 500, [string]>(
    'FST_SUPERAI_QUEUE_UNAVAILABLE', 'Queue mode needs the "bullmq" package (>= 6): run "npm install bullmq" (%s)', 500)
} as const

export type SuperaiErrorCode = keyof typeof codes

/** Any error of the plugin's own, told apart by its `FST_SUPERAI_` code. */
export type CodedError = Error & { readonly code: `FST_SUPERAI_${string}`, readonly statusCode?: number }

export const isCoded = (err: unknown): err is CodedError => {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' && code.startsWith('FST_SUPERAI_')
}
