import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { JobBook } from './jobs.js'
import { RequestError } from './jobs.js'
import { listJobs } from './list.js'

/**
 * The sandbox's API on 127.0.0.1, the routes super.AI's SDK calls (`superai/apis/jobs.py`), under `/v1`:
 * `POST apps/{app_id}/jobs`, `GET apps/{app_id}/jobs`, `GET apps/{app_id}/{batch_id}`, `GET jobs/{job_id}`,
 * `GET jobs/{job_id}/response`, `POST jobs/{job_id}/cancel`, each with the `API-KEY` header.
 */

/** One request as the sandbox received it. */
export interface SandboxRequest {
  readonly method: string
  /** Path and query, as sent (`/v1/jobs/...`). */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** Parsed JSON; the text when it is not JSON; undefined when empty. */
  readonly body: unknown
  readonly at: number
}

/** An answer that replaces the sandbox's own (a failure mode, a slow answer). */
export interface SandboxReply {
  readonly status: number
  /** JSON, or a string sent as text/plain; none when undefined. */
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Answer after this many ms. */
  readonly delay?: number
}

/** Sees every request before the sandbox answers it: a reply replaces the sandbox's answer, undefined lets it answer. */
export type Intercept = (request: SandboxRequest, index: number) => SandboxReply | undefined

const BODY_LIMIT = 10 * 1024 * 1024

interface Answer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
}

const notFound = (what = 'not found'): Answer => ({ status: 404, body: { message: what } })

export class SandboxServer {
  readonly requests: SandboxRequest[] = []
  intercept: Intercept | undefined
  readonly #server: Server
  readonly #book: JobBook
  readonly #apiKey: string
  /** Delayed answers still waiting, released on close so that close does not wait for them. */
  readonly #waiting = new Set<() => void>()

  constructor (book: JobBook, apiKey: string) {
    this.#book = book
    this.#apiKey = apiKey
    this.#server = createServer((request, response) => { void this.#handle(request, response) })
    // a malformed request line or header: answered 400 by Node; never an exception
    this.#server.on('clientError', (_error, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n') })
  }

  async listen (port: number): Promise<number> {
    this.#server.listen(port, '127.0.0.1')
    await once(this.#server, 'listening')
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('the sandbox did not bind a TCP port')
    return address.port
  }

  async close (): Promise<void> {
    for (const release of [...this.#waiting]) release()
    const closed = new Promise<void>((resolve) => this.#server.close(() => { resolve() }))
    this.#server.closeAllConnections()
    await closed
  }

  async #handle (request: IncomingMessage, response: ServerResponse): Promise<void> {
    let answer: Answer
    try {
      answer = await this.#answer(request)
    } catch (error) {
      answer = error instanceof RequestError
        ? { status: error.status, body: { message: error.message } }
        : { status: 500, body: { message: 'the sandbox failed on this request' } }
    }
    if (response.destroyed) return
    const { status, body, headers = {} } = answer
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body)
    const type = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' }
    response.writeHead(status, { ...type, ...headers, 'content-length': Buffer.byteLength(text) })
    response.end(text)
  }

  async #answer (request: IncomingMessage): Promise<Answer> {
    const raw = await readBody(request)
    const recorded: SandboxRequest = {
      method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: parseBody(raw), at: Date.now()
    }
    this.requests.push(recorded)
    const forced = this.intercept?.(recorded, this.requests.length - 1)
    if (forced !== undefined) {
      if (forced.delay !== undefined) await this.#wait(forced.delay)
      return forced
    }
    if (raw === undefined) throw new RequestError(413, `the body is larger than ${BODY_LIMIT} bytes`)
    if (request.headers['api-key'] !== this.#apiKey) return { status: 401, body: { message: 'Invalid API key' } }
    return this.#route(recorded, raw)
  }

  #route (request: SandboxRequest, raw: string): Answer {
    // concatenated, not resolved: a path starting with `//` would be read as a host
    const url = new URL(`http://sandbox${request.url}`)
    let segments: string[]
    try {
      segments = url.pathname.split('/').slice(1).map(decodeURIComponent)
    } catch {
      throw new RequestError(400, 'the path is not valid percent-encoding')
    }
    if (segments[0] !== 'v1') return notFound()
    const [, collection, first = '', second, ...rest] = segments
    if (rest.length > 0 || first === '') return notFound()
    const method = request.method
    if (collection === 'jobs') {
      if (second === undefined) return method === 'GET' ? this.#job(first) : notAllowed('GET')
      if (second === 'response') return method === 'GET' ? { status: 200, body: this.#book.response(first) } : notAllowed('GET')
      if (second === 'cancel') return method === 'POST' ? { status: 200, body: this.#book.cancel(first) } : notAllowed('POST')
      return notFound()
    }
    if (collection === 'apps' && second !== undefined && second !== '') {
      if (second === 'jobs') {
        if (method === 'POST') return { status: 200, body: this.#book.submit(first, submission(request, raw)) }
        if (method === 'GET') return { status: 200, body: listJobs(this.#book.all(), first, url.searchParams) }
        return notAllowed('GET, POST')
      }
      if (method !== 'GET') return notAllowed('GET')
      const batch = this.#book.batch(first, second)
      return batch === undefined ? notFound(`batch ${second} of app ${first} not found`) : { status: 200, body: batch }
    }
    return notFound()
  }

  #job (idOrUuid: string): Answer {
    const job = this.#book.get(idOrUuid)
    return job === undefined ? notFound(`job ${idOrUuid} not found`) : { status: 200, body: job }
  }

  async #wait (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const release = (): void => { clearTimeout(timer); this.#waiting.delete(release); resolve() }
      const timer = setTimeout(release, ms)
      this.#waiting.add(release)
    })
  }
}

const notAllowed = (allow: string): Answer => ({ status: 405, body: { message: `method not allowed: ${allow}` }, headers: { allow } })

/** The body's text; undefined when it is larger than the limit (the rest is read and dropped). */
async function readBody (request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= BODY_LIMIT) chunks.push(chunk)
  }
  return size > BODY_LIMIT ? undefined : Buffer.concat(chunks).toString('utf8')
}

function parseBody (raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return raw
  }
}

/** A submission's JSON body: a clear 400 or 415 for anything else. */
function submission (request: SandboxRequest, raw: string): unknown {
  const type = request.headers['content-type']
  if (type !== undefined && !/^application\/(.+\+)?json\s*(;|$)/i.test(type)) throw new RequestError(415, 'send the submission as application/json')
  if (raw === '') throw new RequestError(400, 'the body is empty: expected a JSON object { inputs, callbackUrl?, metadata? }')
  try {
    return JSON.parse(raw) as unknown
  } catch {
    throw new RequestError(400, 'the body is not valid JSON')
  }
}
