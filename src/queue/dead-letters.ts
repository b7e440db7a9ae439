import type { Job } from 'bullmq'
import type { Observer } from '../observability.js'
import { encodeJobId } from './job-id.js'
import type { CallbackJobData, DeadLetter, ReplayResult, SuperaiDeadLetters, SuperaiQueue } from './types.js'

/** Failed jobs are read in pages of this many, so a long list never arrives in one reply. */
const PAGE = 500

function deadLetterOf (job: Job<CallbackJobData>): DeadLetter {
  return {
    key: job.data.key,
    event: job.data.event,
    attempts: job.attemptsMade,
    reason: job.failedReason,
    failedAt: new Date(job.finishedOn ?? job.timestamp)
  }
}

/** BullMQ's failed set of the callback queue: what `app.superai.deadLetters` and the CLI read and replay. */
export class DeadLetters implements SuperaiDeadLetters {
  readonly #queue: SuperaiQueue
  readonly #observer: Observer | undefined

  constructor (queue: SuperaiQueue, observer?: Observer) {
    this.#queue = queue
    this.#observer = observer
  }

  async list (): Promise<DeadLetter[]> {
    return (await this.#failedJobs()).map(deadLetterOf)
  }

  async replay (keys?: readonly string[]): Promise<ReplayResult> {
    const replayed: string[] = []
    const missing: string[] = []
    const jobs = keys === undefined
      ? await this.#failedJobs()
      : await Promise.all(keys.map(async (key) => await this.#jobOf(key)))
    for (const [index, job] of jobs.entries()) {
      const key = keys?.[index] ?? (job === undefined ? undefined : deadLetterOf(job).key)
      if (key === undefined) continue
      if (job === undefined || !await job.isFailed()) {
        missing.push(key)
        continue
      }
      try {
        // a fresh start: the handlers get every attempt again, and `context.attempt` counts from 1
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
        replayed.push(key)
      } catch {
        // replayed meanwhile by someone else (another process, the CLI): no longer failed
        missing.push(key)
      }
    }
    if (replayed.length > 0) this.#observer?.count('replayed', replayed.length)
    return { replayed, missing }
  }

  /** The job of `key`. */
  async #jobOf (key: string): Promise<Job<CallbackJobData> | undefined> {
    return await this.#queue.getJob(encodeJobId(key)) as Job<CallbackJobData> | undefined
  }

  async #failedJobs (): Promise<Array<Job<CallbackJobData>>> {
    const jobs: Array<Job<CallbackJobData>> = []
    const total = await this.#queue.getFailedCount()
    for (let start = 0; start < total; start += PAGE) {
      const page = await this.#queue.getFailed(start, start + PAGE - 1) as Array<Job<CallbackJobData> | undefined>
      for (const job of page) if (job !== undefined) jobs.push(job)
    }
    return jobs
  }
}
