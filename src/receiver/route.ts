import type { FastifyBaseLogger, FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify'
import {
  CallbackAcceptedSchema, CallbackQueuedSchema, CallbackRouteBodySchema, ErrorReplySchema, logFieldsOf,
  type BatchCallbackBody, type CallbackBody
} from '../schema.js'
import type { DeliveryPipeline } from '../delivery/pipeline.js'
import type { Observer } from '../observability.js'
import { checkRequest, redactUrl } from './authenticate.js'
import { sendError, sendOutcome, toReplyError } from './reply.js'
import { validatorCompiler } from './validator.js'
import type { Guard } from './authenticate.js'
import { checkSignature, requireSignatureHeader } from './signature-check.js'
import type { SignatureVerifier } from '../signature/ecdsa.js'

/** The part of the resolved options the route reads. */
interface RouteSettings {
  readonly path: string
  readonly bodyLimit: number
  /** The checks run before the body is read. */
  readonly guard: Guard
  readonly routeConfig: Readonly<FastifyContextConfig>
  /**
   * The check of super.AI's signature: after the guard (`secret`, `allowFrom`) and parsing, before the schema
   * (the header's presence before the body is read).
   */
  readonly signatureVerifier: SignatureVerifier | undefined
}

/** Whether `info` lines are written, so that none is built for nothing: pino answers; Fastify's no-op logger (`logger: false`) has no level. */
function infoEnabled (log: FastifyBaseLogger): boolean {
  const { isLevelEnabled } = log as { isLevelEnabled?: (level: string) => boolean }
  return typeof isLevelEnabled === 'function' ? isLevelEnabled.call(log, 'info') : log.level !== undefined
}

/**
 * The HTTP adapter: guard -> parse -> signature -> validate, then the pipeline, then the response table. It reads
 * requests and writes responses; everything between is the pipeline's.
 */
export function registerCallbackRoute (
  instance: FastifyInstance, options: RouteSettings, pipeline: DeliveryPipeline, observer: Observer,
  lifecycle: { readonly closing: boolean }
): void {
  const { guard, signatureVerifier: signature } = options
  const guarded = guard.allowList !== undefined || guard.secrets !== undefined
  const tokenInPath = guard.secrets !== undefined && guard.secretIn === 'path'

  // the bare path stays routed so that a missing token is a 401, not a 404
  const urls = tokenInPath ? [options.path, `${options.path}:token/`] : [options.path]

  for (const url of urls) {
    instance.route({
      method: 'POST',
      url,
      config: options.routeConfig,
      // before the body is read: a refused sender costs no parsing and stores nothing
      onRequest: guarded || signature !== undefined
        ? async (request) => {
          if (guarded) checkRequest(request, guard)
          if (signature !== undefined) requireSignatureHeader(request)
        }
        : undefined,
      // after parsing, before the schema: an unsigned callback is never validated, stored or queued
      preValidation: signature === undefined ? undefined : async (request) => { checkSignature(request, signature) },
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
        summary: 'Receive a super.AI job callback or batch (v2) callback',
        description: 'At-least-once deliveries are deduplicated; handlers run once per distinct callback.',
        body: CallbackRouteBodySchema,
        response: {
          200: CallbackAcceptedSchema,
          202: CallbackQueuedSchema,
          '4xx': ErrorReplySchema,
          '5xx': ErrorReplySchema
        }
      },
      validatorCompiler,
      // refusals before the pipeline: a bad sender, media type, size or body, or another plugin's 4xx
      errorHandler (err, request, reply) {
        const coded = toReplyError(err, request, options.bodyLimit)
        const internal = coded.code === 'FST_SUPERAI_INTERNAL'
        if (internal) request.log.error({ err }, 'super.AI callback: unexpected error')
        // the guard already wrote its own line for 401 and 403; another plugin's refusal (a 429) is its own to log
        else if (coded.code.startsWith('FST_SUPERAI_') && coded.code !== 'FST_SUPERAI_UNAUTHORIZED' && coded.code !== 'FST_SUPERAI_FORBIDDEN') {
          request.log.warn({ code: coded.code, statusCode: coded.statusCode, reason: coded.message, source: 'http' }, 'super.AI callback refused: %s', coded.message)
        }
        observer.delivered(internal ? 'error' : 'rejected', 'http', performance.now() - reply.elapsedTime)
        if (lifecycle.closing) reply.header('connection', 'close')
        return sendError(reply, coded)
      },
      async handler (request, reply) {
        const outcome = await pipeline.deliver({ body: request.body as CallbackBody | BatchCallbackBody }, { source: 'http', request }, request.log)
        const { status, delivery } = outcome
        if (status === 'rejected') {
          const { code, statusCode, message } = outcome.error
          request.log.warn({ ...(delivery === undefined ? {} : logFieldsOf(delivery.event)), code, statusCode, reason: message, source: 'http' }, 'super.AI callback refused: %s', message)
        }
        if (delivery !== undefined && infoEnabled(request.log) && (status === 'processed' || status === 'duplicate' || status === 'queued' || status === 'inFlight' || status === 'superseded')) {
          const { event, key } = delivery
          const logged = { ...logFieldsOf(event), key }
          if (status === 'inFlight') request.log.info({ ...logged, retryAfter: outcome.retryAfter }, 'super.AI callback already in flight')
          else if (status === 'superseded') request.log.info({ ...logged, latestState: outcome.latestState }, 'super.AI callback superseded by a later state of its job; handlers skipped')
          else request.log.info({ ...logged, duplicate: status === 'duplicate', queued: status === 'queued' }, 'super.AI callback accepted')
        }
        if (lifecycle.closing) reply.header('connection', 'close')
        return sendOutcome(reply, outcome)
      }
    })
  }
}
