import type { FastifyInstance } from 'fastify'
import type { SuperaiErrorCode } from '../../src/index.js'

export const CALLBACK_PATH = '/superai/callbacks/'

/** Starts `app` on a free port of 127.0.0.1 and returns the URL of its callback route. */
export async function listenLocal (app: FastifyInstance, path = CALLBACK_PATH): Promise<string> {
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return new URL(path, address).href
}

export interface HttpReply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown
  /** When the reply was complete, Date.now(). */
  readonly at: number
}

export interface PostOptions {
  /** Headers to send; `content-type` defaults to application/json unless `rawBody` is given. */
  readonly headers?: Record<string, string>
  /** Sent as is instead of `JSON.stringify(body)`; a Uint8Array makes fetch send no content-type. */
  readonly rawBody?: string | Uint8Array | ReadableStream<Uint8Array>
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/** POSTs over real HTTP with Node's fetch, bounded in time, and reads the whole reply. */
export async function postCallback (url: string, body: unknown, options: PostOptions = {}): Promise<HttpReply> {
  const { headers = {}, rawBody, timeoutMs = 10_000, signal } = options
  const timeout = AbortSignal.timeout(timeoutMs)
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'POST',
    headers: rawBody === undefined ? { 'content-type': 'application/json', ...headers } : headers,
    body: rawBody ?? JSON.stringify(body),
    signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal])
  }
  if (rawBody instanceof ReadableStream) init.duplex = 'half'
  const response = await fetch(url, init)
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json, at: Date.now() }
}

/** The `code` of a coded error body, if it has one. */
export function codeOf (reply: HttpReply): unknown {
  return typeof reply.json === 'object' && reply.json !== null ? (reply.json as { code?: unknown }).code : undefined
}

/** A code the plugin exports, checked by the compiler against `codes`. */
export const code = (name: SuperaiErrorCode): SuperaiErrorCode => name
