import { createSandbox, type SandboxReply, type SandboxRequest } from '../../src/sandbox/index.js'

/** One request as the fake super.AI API saw it. */
export type RecordedRequest = SandboxRequest

/** An answer: a status, a body (JSON, or a string as text/plain), headers, and a delay (to trigger client timeouts). */
export type FakeReply = SandboxReply

export type FakeResponder = (request: RecordedRequest, index: number) => FakeReply

export interface FakeApi {
  /** `http://127.0.0.1:<port>/v1`, as a client's baseUrl. */
  readonly baseUrl: string
  readonly requests: readonly RecordedRequest[]
  respond: (responder: FakeResponder) => void
  close: () => Promise<void>
}

/**
 * The sandbox (`fastify-superai-callbacks/sandbox`) answering every request as scripted, for the client's
 * tests of what super.AI might answer (a 500, a slow answer, a malformed body); it records every request.
 */
export async function startFakeApi (responder: FakeResponder = () => ({ status: 200, body: {} })): Promise<FakeApi> {
  const sandbox = await createSandbox({ step: 0, duplicates: 0 })
  let current = responder
  sandbox.intercept((request, index) => current(request, index))
  return {
    baseUrl: sandbox.baseUrl,
    requests: sandbox.requests,
    respond (next) { current = next },
    close: async () => { await sandbox.close() }
  }
}
