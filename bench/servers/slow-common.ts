/**
 * What the processes of the slow-handler workload share: the handler (awaits 50 ms, then records which
 * callback it ran and when, on the wall clock the harness shares) and the route the harness reads it from.
 */
import type { FastifyInstance } from 'fastify'
import { handleCallback } from './common.js'

/** How long the handler "works": an await, as a database write or a download would be (BENCH_HANDLER_MS, 0: returns at once). */
export const HANDLER_MS = Number(process.env.BENCH_HANDLER_MS ?? 50)

/** Each handler run: the job uuid, and when it ended (ms since the epoch, fractional). */
const runs: Array<[string, number]> = []

export async function slowHandler (event: { readonly uuid: string }): Promise<void> {
  if (HANDLER_MS > 0) await new Promise((resolve) => setTimeout(resolve, HANDLER_MS))
  handleCallback(event)
  runs.push([event.uuid, Date.now()])
}

/** `GET /__bench/runs?from=<n>`: the handler runs from the n-th on (so that the harness reads each once). */
export function addRunsRoute (app: FastifyInstance): void {
  app.get<{ Querystring: { from?: string } }>('/__bench/runs', async (request) => {
    const from = Number(request.query.from ?? 0)
    return { total: runs.length, runs: runs.slice(Number.isSafeInteger(from) && from > 0 ? from : 0) }
  })
}
