// the named export: declarations then refer to `import("@fastify/error").FastifyErrorConstructor`, which every
// module resolution finds; through the default import they said `createError.…`, a namespace ESM consumers lack
import { createError } from '@fastify/error'

/**
 * Every error the plugin, the client and the CLI raise: one `@fastify/error` each, so users match on
 * `err.code` and Fastify serialises them as `{ statusCode, code, error, message }`. In sections, as
 * fastify's lib/errors.js.
 */
export const codes = {
  // Options and registration: `register`, `createSuperaiWorker`, `createSuperaiClient`, the stores
  /** An option (of `register`, the worker, the client, a store, a client call) it cannot use; the message names it. */
  FST_SUPERAI_INVALID_OPTION: createError<'FST_SUPERAI_INVALID_OPTION', 500, [string, string]>(
    'FST_SUPERAI_INVALID_OPTION', 'Invalid option "%s": %s', 500),
  /** The plugin was registered a second time in one scope (`app.superai` is there already). */
  FST_SUPERAI_ALREADY_REGISTERED: createError<'FST_SUPERAI_ALREADY_REGISTERED', 500, []>(
    'FST_SUPERAI_ALREADY_REGISTERED', 'fastify-superai-callbacks is already registered in this scope; register it once per app (or per encapsulated context)', 500),

  // Subscriptions: `app.superai.on(...)` and `onJobCompleted(...)`
  /** `app.superai.on(name, ...)` with a name that is no event; thrown at subscription. */
  FST_SUPERAI_UNKNOWN_EVENT: createError<'FST_SUPERAI_UNKNOWN_EVENT', 500, [string]>(
    'FST_SUPERAI_UNKNOWN_EVENT', 'Unknown super.AI event "%s"', 500),
  /** A handler that is not a function; thrown at subscription. */
  FST_SUPERAI_INVALID_HANDLER: createError<'FST_SUPERAI_INVALID_HANDLER', 500, [string]>(
    'FST_SUPERAI_INVALID_HANDLER', 'The handler for "%s" is not a function', 500),

  // Request refusals: the callback route's 4xx, decided before any handler runs
  /** 400: the body is not JSON, is empty, or holds a prototype-polluting key. */
  FST_SUPERAI_INVALID_JSON: createError<'FST_SUPERAI_INVALID_JSON', 400, [string]>(
    'FST_SUPERAI_INVALID_JSON', 'Callback body is not valid JSON: %s', 400),
  /** 400: the body does not match the callback schema; the message names the field. */
  FST_SUPERAI_INVALID_BODY: createError<'FST_SUPERAI_INVALID_BODY', 400, [string]>(
    'FST_SUPERAI_INVALID_BODY', 'Callback body does not match the super.AI callback schema: %s', 400),
  /** 400: an undocumented `state` or `action`, refused under `unknownValues: 'reject'`. */
  FST_SUPERAI_UNKNOWN_VALUE: createError<'FST_SUPERAI_UNKNOWN_VALUE', 400, [string, string]>(
    'FST_SUPERAI_UNKNOWN_VALUE', 'Undocumented %s "%s" rejected (unknownValues: "reject")', 400),
  /** 415: a content type other than JSON. */
  FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE: createError<'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', 415, [string]>(
    'FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE', 'Callbacks must be sent as application/json, got "%s"', 415),
  /** 413: a body larger than `bodyLimit`. */
  FST_SUPERAI_BODY_TOO_LARGE: createError<'FST_SUPERAI_BODY_TOO_LARGE', 413, [number]>(
    'FST_SUPERAI_BODY_TOO_LARGE', 'Callback body is larger than the limit of %d bytes', 413),
  /** 401: `secret` is set and the delivery's token is missing or wrong (decided before the body is read). */
  FST_SUPERAI_UNAUTHORIZED: createError<'FST_SUPERAI_UNAUTHORIZED', 401, []>(
    'FST_SUPERAI_UNAUTHORIZED', 'Missing or invalid callback token', 401),
  /** 403: `allowFrom` is set and the sender's address is not in it (decided first). */
  FST_SUPERAI_FORBIDDEN: createError<'FST_SUPERAI_FORBIDDEN', 403, []>(
    'FST_SUPERAI_FORBIDDEN', 'Callbacks are not accepted from this address', 403),
  /** 401: `signature` is set and the callback carries no (or an empty) `X-SuperAI-Webhook-Signature` header; decided before the body is read. */
  FST_SUPERAI_SIGNATURE_MISSING: createError<'FST_SUPERAI_SIGNATURE_MISSING', 401, []>(
    'FST_SUPERAI_SIGNATURE_MISSING', 'The callback carries no X-SuperAI-Webhook-Signature header', 401),
  /** 401: `signature` is set and no configured key verifies the callback's signature; nothing was stored or queued. */
  FST_SUPERAI_SIGNATURE_INVALID: createError<'FST_SUPERAI_SIGNATURE_INVALID', 401, []>(
    'FST_SUPERAI_SIGNATURE_INVALID', 'The callback\'s X-SuperAI-Webhook-Signature does not verify with the configured public key', 401),
  /** 409: another delivery of the callback holds its claim; the reply carries `Retry-After`. */
  FST_SUPERAI_IN_FLIGHT: createError<'FST_SUPERAI_IN_FLIGHT', 409, [number]>(
    'FST_SUPERAI_IN_FLIGHT', 'This callback is being processed by another delivery; retry in %d s', 409),
  /** Another plugin on the route (@fastify/rate-limit through `routeConfig`) refused with a 4xx and no code; its status and message are kept. */
  FST_SUPERAI_REFUSED_BY_PLUGIN: createError<'FST_SUPERAI_REFUSED_BY_PLUGIN', 429, [string]>(
    'FST_SUPERAI_REFUSED_BY_PLUGIN', '%s', 429),

  // Processing: keys and handlers
  /** A handler threw; the claim is released, so the next delivery runs the handlers again. */
  FST_SUPERAI_HANDLER_FAILED: createError<'FST_SUPERAI_HANDLER_FAILED', 500, [number, number]>(
    'FST_SUPERAI_HANDLER_FAILED', '%d of %d callback handlers failed; the callback will be processed again on redelivery', 500),
  /** The `idempotencyKey` option returned an empty or over-long key; nothing ran. */
  FST_SUPERAI_INVALID_IDEMPOTENCY_KEY: createError<'FST_SUPERAI_INVALID_IDEMPOTENCY_KEY', 500, []>(
    'FST_SUPERAI_INVALID_IDEMPOTENCY_KEY', 'The idempotencyKey option returned an empty or over-long key', 500),
  /** An unexpected error (an `idempotencyKey` function that threw); the cause is logged, never sent. */
  FST_SUPERAI_INTERNAL: createError<'FST_SUPERAI_INTERNAL', 500, []>(
    'FST_SUPERAI_INTERNAL', 'Internal error while processing the callback', 500),

  // Store
  /** 503: the store (Redis) could not be reached, or the queue could not take the callback; nothing ran. */
  FST_SUPERAI_STORE_UNAVAILABLE: createError<'FST_SUPERAI_STORE_UNAVAILABLE', 503, []>(
    'FST_SUPERAI_STORE_UNAVAILABLE', 'The idempotency store is unavailable; nothing was processed, retry later', 503),

  // Verify: the `verify` option's check against the super.AI API
  /** 422, with `verify`: the job at super.AI does not back the callback. */
  FST_SUPERAI_VERIFICATION_FAILED: createError<'FST_SUPERAI_VERIFICATION_FAILED', 422, [string]>(
    'FST_SUPERAI_VERIFICATION_FAILED', 'The callback does not agree with the job at super.AI: %s', 422),
  /** 503, with `verify`: the super.AI API was slow, failing or refused the key; the sender retries. */
  FST_SUPERAI_VERIFY_UNAVAILABLE: createError<'FST_SUPERAI_VERIFY_UNAVAILABLE', 503, []>(
    'FST_SUPERAI_VERIFY_UNAVAILABLE', 'The job could not be fetched from super.AI to verify the callback; nothing was processed, retry later', 503),
  /** 503, with `verify`: the job can still reach the callback's state but the API does not show it yet. */
  FST_SUPERAI_VERIFY_API_BEHIND: createError<'FST_SUPERAI_VERIFY_API_BEHIND', 503, [string, string]>(
    'FST_SUPERAI_VERIFY_API_BEHIND', 'The super.AI API has not caught up with this callback yet (the job is %s, the callback says %s); nothing was processed, retry later', 503),

  // Queue mode
  /** Queue mode was asked for but the optional `bullmq` package cannot be loaded. */
  FST_SUPERAI_QUEUE_UNAVAILABLE: createError<'FST_SUPERAI_QUEUE_UNAVAILABLE', 500, [string]>(
    'FST_SUPERAI_QUEUE_UNAVAILABLE', 'Queue mode needs the "bullmq" package (>= 6): run "npm install bullmq" (%s)', 500),
  /** Queue mode, BullMQ's `failedReason` of a try that is tried again: which try, why, and when the next runs. */
  FST_SUPERAI_QUEUE_TRY_FAILED: createError<'FST_SUPERAI_QUEUE_TRY_FAILED', 500, [string, string, string]>(
    'FST_SUPERAI_QUEUE_TRY_FAILED', 'Try %s failed (%s); it is retried after the backoff, in %s', 500),
  /** Queue mode, BullMQ's `failedReason` of the last try: the callback is a dead letter until replayed. */
  FST_SUPERAI_DEAD_LETTER: createError<'FST_SUPERAI_DEAD_LETTER', 500, [string, string, string, string]>(
    'FST_SUPERAI_DEAD_LETTER',
    'Try %s failed (%s); the callback is now a dead letter, kept for %s: replay it with app.superai.deadLetters.replay([%s]) or superai-callbacks dead-letters replay', 500),

  // Reconciliation
  /** `app.superai.reconcile()` could not list a single project's jobs, or the app is closing; the API error is the `cause`. */
  FST_SUPERAI_RECONCILE_FAILED: createError<'FST_SUPERAI_RECONCILE_FAILED', 502, [string]>(
    'FST_SUPERAI_RECONCILE_FAILED', 'Reconciliation could not list the jobs at super.AI: %s', 502),
  /** `app.superai.reconcile()` was called without the `reconcile` option. */
  FST_SUPERAI_RECONCILE_NOT_CONFIGURED: createError<'FST_SUPERAI_RECONCILE_NOT_CONFIGURED', 500, []>(
    'FST_SUPERAI_RECONCILE_NOT_CONFIGURED', 'Reconciliation is not configured: register the plugin with the "reconcile" option', 500),

  // Telemetry: the `telemetry` option
  /** `telemetry: true` but the optional `@opentelemetry/api` package cannot be loaded. */
  FST_SUPERAI_TELEMETRY_UNAVAILABLE: createError<'FST_SUPERAI_TELEMETRY_UNAVAILABLE', 500, [string]>(
    'FST_SUPERAI_TELEMETRY_UNAVAILABLE', 'The telemetry option needs the "@opentelemetry/api" package (>= 1.9): run "npm install @opentelemetry/api" and register an OpenTelemetry SDK in the app (%s)', 500),

  // Client: the super.AI API client and the callback URL rules
  /** A callback URL super.AI would refuse; the message says why. */
  FST_SUPERAI_INVALID_CALLBACK_URL: createError<'FST_SUPERAI_INVALID_CALLBACK_URL', 400, [string, string]>(
    'FST_SUPERAI_INVALID_CALLBACK_URL', 'Invalid callback URL "%s": %s', 400),
  /** The super.AI API answered an error status; `status` and `body` are attached. */
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
  /** `cancelJob` was given a job whose `status` super.AI's SDK says cannot be canceled (only SCHEDULED, IN_PROGRESS, SUSPENDED); nothing was sent. */
  FST_SUPERAI_JOB_NOT_CANCELABLE: createError<'FST_SUPERAI_JOB_NOT_CANCELABLE', 409, [string, string]>(
    'FST_SUPERAI_JOB_NOT_CANCELABLE', 'Job %s is %s: only SCHEDULED, IN_PROGRESS or SUSPENDED jobs can be canceled; nothing was sent', 409),
  /** `exportJobs`: the export operation failed, or was not completed within the timeout; `operationId` and `operationStatus` are attached. */
  FST_SUPERAI_EXPORT_FAILED: createError<'FST_SUPERAI_EXPORT_FAILED', 502, [string, string]>(
    'FST_SUPERAI_EXPORT_FAILED', 'The super.AI export %s did not complete: %s', 502),
  /** `signCallback` or the CLI's `--sign-key` was given something other than an EC private key; the key is never quoted. */
  FST_SUPERAI_INVALID_SIGNING_KEY: createError<'FST_SUPERAI_INVALID_SIGNING_KEY', 500, [string]>(
    'FST_SUPERAI_INVALID_SIGNING_KEY', 'The signing key must be an EC private key (PEM, SEC1 or PKCS#8, or a KeyObject): %s', 500),

  // The result at hand: `app.superai.api`, `context.output()`, `app.superai.waitFor()`
  /** A call to super.AI's API (`app.superai.api`, `context.output()`) with no API key to send: the `api` option is missing. */
  FST_SUPERAI_API_NOT_CONFIGURED: createError<'FST_SUPERAI_API_NOT_CONFIGURED', 500, [string]>(
    'FST_SUPERAI_API_NOT_CONFIGURED', 'No super.AI API key to call %s with: register the plugin (or the worker) with the "api" option, { apiKey }', 500),
  /** `waitFor(uuid)`: no state change of the job in the awaited states was processed within `timeout`. */
  FST_SUPERAI_WAIT_TIMEOUT: createError<'FST_SUPERAI_WAIT_TIMEOUT', 504, [string, string, number]>(
    'FST_SUPERAI_WAIT_TIMEOUT', 'No state change of job %s to %s was processed within %d ms', 504),
  /** `waitFor(uuid)` was pending (or called) while the app or worker closed. */
  FST_SUPERAI_WAIT_CLOSED: createError<'FST_SUPERAI_WAIT_CLOSED', 503, [string]>(
    'FST_SUPERAI_WAIT_CLOSED', 'The wait for job %s ended: the app is closing', 503)
} as const

export type SuperaiErrorCode = keyof typeof codes

/** Any error of the plugin's own, told apart by its `FST_SUPERAI_` code. */
export type CodedError = Error & { readonly code: `FST_SUPERAI_${string}`, readonly statusCode?: number }

export const isCoded = (err: unknown): err is CodedError => {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined
  return typeof code === 'string' && code.startsWith('FST_SUPERAI_')
}
