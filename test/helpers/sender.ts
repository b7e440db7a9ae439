import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'

/** One answer of the endpoint, as a sender sees it. */
export interface Answer {
  readonly status: number
  readonly duplicate: boolean | undefined
  /** Seconds of a 409's Retry-After. */
  readonly retryAfter: number | undefined
}

/** What a sender that retries like super.AI saw, over all its deliveries. */
export interface SenderTally {
  /** Requests sent, retries included. */
  requests: number
  /** Requests beyond the first of each delivery. */
  retries: number
  byStatus: Map<number, number>
  /** 200 with duplicate: true. */
  duplicates: number
  /** 200 with duplicate: false. */
  processed: number
  /** Deliveries that were never accepted before their deadline, or whose request failed. */
  givenUp: number
}

export const newTally = (): SenderTally =>
  ({ requests: 0, retries: 0, byStatus: new Map(), duplicates: 0, processed: 0, givenUp: 0 })

export const statusCount = (tally: SenderTally, status: number): number => tally.byStatus.get(status) ?? 0

/**
 * Delivers `body` until it is accepted (200), retrying 409, 5xx and failed requests as super.AI would,
 * but sooner: after at most `maxWaitMs`, whatever Retry-After says. Bounded by `deadline` (Date.now()).
 */
export async function deliverUntilAccepted (
  post: (body: unknown) => Promise<Answer>, body: unknown, tally: SenderTally,
  { deadline, maxWaitMs = 200 }: { deadline: number, maxWaitMs?: number }
): Promise<Answer | undefined> {
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) tally.retries++
    tally.requests++
    const answer = await post(body).catch(() => undefined)
    if (answer !== undefined) tally.byStatus.set(answer.status, (tally.byStatus.get(answer.status) ?? 0) + 1)
    if (answer?.status === 200) {
      if (answer.duplicate === true) tally.duplicates++
      else tally.processed++
      return answer
    }
    const wait = answer?.retryAfter === undefined ? maxWaitMs : Math.min(answer.retryAfter * 1000, maxWaitMs)
    await sleep(Math.max(20, wait * (0.5 + Math.random() / 2)))
  }
  tally.givenUp++
  return undefined
}

/** Reads an inject or fetch reply into an Answer. */
export function answerOf (status: number, payload: string, retryAfter: string | number | string[] | undefined | null): Answer {
  let duplicate: boolean | undefined
  try {
    duplicate = (JSON.parse(payload) as { duplicate?: boolean }).duplicate
  } catch {
    duplicate = undefined
  }
  const seconds = retryAfter === undefined || retryAfter === null ? undefined : Number(retryAfter)
  return { status, duplicate, retryAfter: Number.isFinite(seconds) ? seconds : undefined }
}

/** Runs `tasks` with at most `concurrency` at once. */
export async function pool<T> (tasks: ReadonlyArray<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      const task = tasks[i]
      if (task !== undefined) results[i] = await task()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker))
  return results
}

/** A `post` for deliverUntilAccepted that injects into `app` (no socket), as JSON. */
export function injectPoster (app: FastifyInstance, url = '/superai/callbacks/'): (body: unknown) => Promise<Answer> {
  return async (body) => {
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
    return answerOf(res.statusCode, res.payload, res.headers['retry-after'])
  }
}
