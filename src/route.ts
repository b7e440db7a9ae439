import { randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { codes } from './errors.js'
import { MAX_KEY_LENGTH } from './idempotency-key.js'
import { normalizeCallback } from './normalize.js'
import type { ResolvedOptions } from './options.js'
import { CallbackAcceptedSchema, CallbackBodySchema, ErrorReplySchema, type CallbackBody, type SuperaiEvent } from './schema.js'
import { checkRequest, redactUrl } from './authenticate.js'
import type { SuperaiJob } from './client.js'
import type { Dispatcher } from './dispatcher.js'
import type { IdempotencyStore } from './store/store.js'
import type { JobVerifier } from './verify.js'

type CodedError = FastifyError & { readonly code: `FST_SUPERAI_${string}` }

const isCoded = (err: unknown): err is CodedError =>
  err instanceof Error && (err as Partial<FastifyError>).code?.startsWith('FST_SUPERAI_') === true

/**
 * The plugin validates with its own compiled TypeBox check, whatever the host's AJV settings: no
 * coercion, no removal of extra properties. The route schema stays declared for @fastify/swagger.
 */
const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema }) => {
  // only the body has a schema, and it is a TypeBox one
  const check = TypeCompiler.Compile(schema as TSchema)
  return (data: unknown) => {
    if (check.Check(data)) return { value: data }
    const first = check.Errors(data).First()
    const where = first === undefined || first.path === '' ? 'body' : first.path
    return { error: new codes.FST_SUPERAI_INVALID_BODY(`${where}: ${first?.message ?? 'invalid'}`) }
  }
}

/** Fastify's own errors from before the handler, told in the plugin's codes. */
function toCodedError (err: FastifyError, request: FastifyRequest, options: ResolvedOptions): CodedError {
  if (isCoded(err)) return err
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new codes.FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE(String(request.headers['content-type'] ?? '').slice(0, 100))
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new codes.FST_SUPERAI_BODY_TOO_LARGE(options.bodyLimit)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new codes.FST_SUPERAI_INVALID_JSON('the body is empty')
  }
  // the JSON parser's SyntaxError (malformed, or a __proto__/constructor key) and bad framing
  if (err.statusCode === 400) return new codes.FST_SUPERAI_INVALID_JSON(err.message.slice(0, 200))
  return new codes.FST_SUPERAI_INTERNAL()
}

function sendError (reply: FastifyReply, err: CodedError): FastifyReply {
  const statusCode = err.statusCode ?? 500
  return reply.code(statusCode).send({ statusCode, code: err.code, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message })
}

/**
 * Claim tokens only have to be unique among the deliveries sharing a store, and never equal the
 * processed marker: a random per-process part and a counter, far cheaper than random bytes per request.
 */
const TOKEN_PREFIX = randomBytes(9).toString('base64url')
let tokenCounter = 0
const nextToken = (): string => `${TOKEN_PREFIX}${(tokenCounter++).toString(36)}`

/** What a request carries between the steps of the handler. */
interface Delivery {
  readonly event: SuperaiEvent
  readonly key: string
  readonly token: string
}

/** The callback endpoint: guard -> validate -> normalise -> claim -> verify -> dispatch -> settle. */
export function registerCallbackRoute (
  instance: FastifyInstance, options: ResolvedOptions, store: IdempotencyStore, dispatcher: Dispatcher,
  verifier: JobVerifier | undefined
): void {
  /** Turns a validated body into a delivery, or refuses it before anything is stored. */
  function prepare (request: FastifyRequest): Delivery {
    const { event, unknown } = normalizeCallback(request.body as CallbackBody)
    for (const { field, value } of unknown) {
      if (options.unknownValues === 'reject') throw new codes.FST_SUPERAI_UNKNOWN_VALUE(field, value)
      request.log.warn({ uuid: event.uuid, field, value }, 'super.AI callback with an undocumented %s; dispatched to "callback" handlers only', field)
    }
    const custom = options.idempotencyKey(event)
    if (typeof custom !== 'string' || custom.length === 0 || custom.length > MAX_KEY_LENGTH) {
      throw new codes.FST_SUPERAI_INVALID_IDEMPOTENCY_KEY()
    }
    return { event, key: options.keyPrefix + custom, token: nextToken() }
  }

  async function claim (request: FastifyRequest, { key, token }: Delivery) {
    try {
      return await store.claim(key, token, options.leaseMs)
    } catch (err) {
      request.log.error({ err, key }, 'super.AI callback: idempotency store unavailable')
      // a timed-out claim may still land when a frozen Redis wakes up; the release queued behind it on
      // the same connection frees the key instead of leaving it claimed for a whole lease
      store.release(key, token).catch(() => {})
      throw new codes.FST_SUPERAI_STORE_UNAVAILABLE()
    }
  }

  /** Frees the claim so that the next delivery is processed; if that fails the lease frees it. */
  async function release (request: FastifyRequest, { key, token }: Delivery): Promise<void> {
    await store.release(key, token).catch((err: unknown) => {
      request.log.error({ err, key }, 'super.AI callback: could not release the claim; it expires with its lease')
    })
  }

  /** With `verify`, the job as super.AI reports it; a refused or unverifiable callback frees its claim. */
  async function verify (request: FastifyRequest, delivery: Delivery): Promise<SuperaiJob | undefined> {
    if (verifier === undefined) return undefined
    try {
      return await verifier.verify(delivery.event, request.log)
    } catch (err) {
      await release(request, delivery)
      throw err
    }
  }

  /** Runs the handlers; on failure frees the claim so the next delivery runs them again. */
  async function dispatch (request: FastifyRequest, delivery: Delivery, job: SuperaiJob | undefined): Promise<void> {
    const { event, key } = delivery
    try {
      await dispatcher.dispatch(event, { request, log: request.log, key, job })
    } catch (err) {
      const failures = err instanceof AggregateError ? err.errors : [err]
      request.log.error({ err, uuid: event.uuid, key }, 'super.AI callback handler failed')
      await release(request, delivery)
      throw new codes.FST_SUPERAI_HANDLER_FAILED(failures.length, dispatcher.handlersFor(event).length)
    }
  }

  /** The handlers succeeded: remember the callback for `ttl`. A failure here cannot undo them, so it is logged, not answered. */
  async function settle (request: FastifyRequest, { key, token }: Delivery): Promise<void> {
    try {
      if (!await store.complete(key, token, options.ttlMs)) {
        request.log.warn({ key }, 'super.AI callback: the lease ran out while handlers ran and another delivery took the claim; raise "lease"')
      }
    } catch (err) {
      request.log.error({ err, key }, 'super.AI callback: handlers ran but the store could not record it; a redelivery after the lease runs them again')
    }
  }

  const { guard } = options
  const guarded = guard.allowList !== undefined || guard.secrets !== undefined
  const tokenInPath = guard.secrets !== undefined && guard.secretIn === 'path'

  // the bare path stays routed so that a missing token is a 401, not a 404
  const urls = tokenInPath ? [options.path, `${options.path}:token/`] : [options.path]

  for (const url of urls) instance.route({
    method: 'POST',
    url,
    config: options.routeConfig,
    // before the body is read: a refused sender costs no parsing and stores nothing
    onRequest: guarded ? async (request) => { checkRequest(request, guard) } : undefined,
    ...(guard.secrets === undefined
      ? {}
      : {
          logSerializers: {
            req: (request: FastifyRequest) => ({
              method: request.method, url: redactUrl(request.url, guard.secretIn), host: request.host, remoteAddress: request.ip
            })
          }
        }),
    bodyLimit: options.bodyLimit,
    schema: {
      summary: 'Receive a super.AI job callback',
      description: 'At-least-once deliveries are deduplicated; handlers run once per distinct callback.',
      body: CallbackBodySchema,
      response: {
        200: CallbackAcceptedSchema,
        '4xx': ErrorReplySchema,
        '5xx': ErrorReplySchema
      }
    },
    validatorCompiler,
    errorHandler (err, request, reply) {
      const coded = toCodedError(err, request, options)
      if (coded.code === 'FST_SUPERAI_INTERNAL') request.log.error({ err }, 'super.AI callback: unexpected error')
      return sendError(reply, coded)
    },
    async handler (request, reply) {
      const delivery = prepare(request)
      const { event, key } = delivery
      const logged = { uuid: event.uuid, id: event.id, state: event.state, action: event.action, key }
      const claimed = await claim(request, delivery)
      if (claimed.status === 'processed') {
        request.log.info({ ...logged, duplicate: true }, 'super.AI callback accepted')
        return { ok: true, duplicate: true }
      }
      if (claimed.status === 'in-flight') {
        const seconds = Math.max(1, Math.ceil(claimed.retryAfterMs / 1000))
        request.log.info({ ...logged, retryAfter: seconds }, 'super.AI callback already in flight')
        reply.header('retry-after', String(seconds))
        throw new codes.FST_SUPERAI_IN_FLIGHT(seconds)
      }
      await dispatch(request, delivery, await verify(request, delivery))
      await settle(request, delivery)
      request.log.info({ ...logged, duplicate: false }, 'super.AI callback accepted')
      return { ok: true, duplicate: false }
    }
  })
}
