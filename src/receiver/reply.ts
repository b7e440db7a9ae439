import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { codes, isCoded, type CodedError } from '../errors.js'
import type { PipelineOutcome } from '../delivery/pipeline.js'

/** Constant bodies: nothing to build per request. */
const PROCESSED_BODY = Object.freeze({ ok: true, duplicate: false })
const DUPLICATE_BODY = Object.freeze({ ok: true, duplicate: true })
const QUEUED_BODY = Object.freeze({ ok: true, duplicate: false, queued: true })
const SUPERSEDED_BODY = Object.freeze({ ok: true, duplicate: false, superseded: true })

/** What an error reply is built from: the plugin's coded errors, or a 4xx another plugin raised on purpose. */
type ReplyError = Pick<CodedError, 'message' | 'statusCode'> & { readonly code: string }

/**
 * Fastify's own errors from before the handler, told in the plugin's codes; a deliberate 4xx of another
 * plugin on the route (such as @fastify/rate-limit's 429) keeps its status and code.
 */
export function toReplyError (err: FastifyError, request: FastifyRequest, bodyLimit: number): ReplyError {
  if (isCoded(err)) return err
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new codes.FST_SUPERAI_UNSUPPORTED_MEDIA_TYPE(String(request.headers['content-type'] ?? '').slice(0, 100))
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new codes.FST_SUPERAI_BODY_TOO_LARGE(bodyLimit)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new codes.FST_SUPERAI_INVALID_JSON('the body is empty')
  }
  // the JSON parser's SyntaxError (malformed, or a __proto__/constructor key) and bad framing
  if (err.statusCode === 400) return new codes.FST_SUPERAI_INVALID_JSON(withoutBodyExcerpt(err.message).slice(0, 200))
  if (err.statusCode !== undefined && err.statusCode > 400 && err.statusCode < 500) {
    const code = typeof err.code === 'string' ? err.code : new codes.FST_SUPERAI_REFUSED_BY_PLUGIN(err.message).code
    return { statusCode: err.statusCode, code, message: err.message }
  }
  return new codes.FST_SUPERAI_INTERNAL()
}

/**
 * V8's JSON errors quote the body around the fault (`Unexpected token 'p', "{"note": pr"... is not valid
 * JSON`); the reply and the log keep what is wrong, not the sender's data.
 */
function withoutBodyExcerpt (message: string): string {
  return message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ' (not valid JSON)')
}

/** Fastify's error shape, with no stack or internal detail. */
export function sendError (reply: FastifyReply, err: ReplyError): FastifyReply {
  const statusCode = err.statusCode ?? 500
  return reply.code(statusCode).send({ statusCode, code: err.code, error: STATUS_CODES[statusCode] ?? 'Error', message: err.message })
}

/** The response table (see the README's "Responses"), from the pipeline's outcome. */
export function sendOutcome (reply: FastifyReply, outcome: PipelineOutcome): FastifyReply {
  switch (outcome.status) {
    case 'processed': return reply.send(PROCESSED_BODY)
    case 'duplicate': return reply.send(DUPLICATE_BODY)
    case 'superseded': return reply.send(SUPERSEDED_BODY)
    case 'queued': return reply.code(202).send(QUEUED_BODY)
    case 'inFlight':
      reply.header('retry-after', String(outcome.retryAfter))
      return sendError(reply, new codes.FST_SUPERAI_IN_FLIGHT(outcome.retryAfter))
    default: return sendError(reply, outcome.error)
  }
}
