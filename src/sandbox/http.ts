import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { JobExports } from './job-export.js'
import type { JobBook } from './jobs.js'
import { RequestError } from './request-error.js'
import { ROUTES, matches } from './routes.js'

/**
 * The sandbox's API on 127.0.0.1 (the routes of routes.ts, under `/v1`, each with the `API-KEY` header),
 * and the export's download URLs, which need none.
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
  readonly #exports: JobExports
  readonly #apiKey: string
  /** `http://127.0.0.1:<port>`, once it listens: download URLs are absolute. */
  #origin = ''
  /** Delayed answers still waiting, released on close so that close does not wait for them. */
  readonly #waiting = new Set<() => void>()

  constructor (book: JobBook, exports: JobExports, apiKey: string) {
    this.#book = book
    this.#exports = exports
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
    this.#origin = `http://127.0.0.1:${address.port}`
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
    const text = body === undefined ? '' : Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body)
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
    const { url, segments } = parsePath(recorded.url)
    // a download URL is fetched with no API-KEY, as the SDK fetches it: its signature is its key
    if (segments[0] === 'downloads') {
      if (recorded.method !== 'GET') return notAllowed('GET')
      return { status: 200, body: this.#exports.download(url.pathname, url.searchParams), headers: { 'content-type': 'application/zip' } }
    }
    if (request.headers['api-key'] !== this.#apiKey) return { status: 401, body: { message: 'Invalid API key' } }
    return await this.#route(recorded, raw, url, segments)
  }

  async #route (request: SandboxRequest, raw: string, url: URL, segments: readonly string[]): Promise<Answer> {
    if (segments[0] !== 'v1') return notFound()
    const path = segments.slice(1)
    const routes = ROUTES.filter((route) => matches(route.pattern, path))
    const route = routes.find((candidate) => candidate.method === request.method)
    if (route === undefined) return routes.length === 0 ? notFound() : notAllowed(routes.map((candidate) => candidate.method).join(', '))
    const params = Object.fromEntries(route.pattern.flatMap((part, index) => part.startsWith(':') ? [[part.slice(1), path[index] ?? '']] : []))
    return { status: 200, body: await route.answer({ book: this.#book, exports: this.#exports, params, query: url.searchParams, request, raw, origin: this.#origin }) }
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

/** The URL and its decoded path segments; a 400 for a path that is not valid percent-encoding. */
function parsePath (raw: string): { readonly url: URL, readonly segments: string[] } {
  // concatenated, not resolved: a path starting with `//` would be read as a host
  const url = new URL(`http://sandbox${raw}`)
  try {
    return { url, segments: url.pathname.split('/').slice(1).map(decodeURIComponent) }
  } catch {
    throw new RequestError(400, 'the path is not valid percent-encoding')
  }
}
