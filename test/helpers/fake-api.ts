import Fastify from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'

/** One request as the fake super.AI API saw it. */
export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: unknown
  readonly at: number
}

export interface FakeReply {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** Answer only after this many ms (to trigger client timeouts). */
  readonly delay?: number
}

export type FakeResponder = (request: RecordedRequest, index: number) => FakeReply

export interface FakeApi {
  /** `http://127.0.0.1:<port>/v1`, as a client's baseUrl. */
  readonly baseUrl: string
  readonly requests: RecordedRequest[]
  respond: (responder: FakeResponder) => void
  close: () => Promise<void>
}

/** A stand-in for the super.AI REST API on 127.0.0.1 that records requests and answers as scripted. */
export async function startFakeApi (responder: FakeResponder = () => ({ status: 200, body: {} })): Promise<FakeApi> {
  const app = Fastify()
  const requests: RecordedRequest[] = []
  let current = responder
  // Delayed answers still pending, released on close so that close does not wait for them.
  const pending = new Set<() => void>()

  app.all('/*', async (request, reply) => {
    const recorded: RecordedRequest = {
      method: request.method, url: request.url, headers: request.headers, body: request.body, at: Date.now()
    }
    requests.push(recorded)
    const answer = current(recorded, requests.length - 1)
    if (answer.delay !== undefined) {
      await new Promise<void>((resolve) => {
        const release = (): void => { clearTimeout(timer); pending.delete(release); resolve() }
        const timer = setTimeout(release, answer.delay)
        pending.add(release)
      })
    }
    reply.code(answer.status).headers(answer.headers ?? {})
    if (answer.body === undefined) return await reply.send()
    if (typeof answer.body === 'string') return await reply.type('text/plain').send(answer.body)
    return await reply.send(answer.body)
  })

  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('fake API did not bind a TCP port')
  return {
    baseUrl: `http://127.0.0.1:${address.port}/v1`,
    requests,
    respond (next) { current = next },
    async close () {
      for (const release of [...pending]) release()
      await app.close()
    }
  }
}
