import type { JobsOptions, MinimalJob } from 'bullmq'
import { codes, type CodedError } from '../errors.js'
import type { PipelineOutcome } from '../delivery/pipeline.js'
import type { Bullmq } from './bullmq.js'

/** What a try's failure tells bull-board and `deadLetters.list()`: the job whose options decide what comes next. */
interface TryOf {
  /** The try that failed, from 1. */
  readonly attempt: number
  readonly key: string
  readonly job: MinimalJob
}

/** Milliseconds as people read them: "250 ms", "1.5 s", "10 min", "7 days". */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  const units: ReadonlyArray<readonly [number, string, string]> = [[86_400_000, 'day', 'days'], [3_600_000, 'h', 'h'], [60_000, 'min', 'min']]
  for (const [size, one, many] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${ms === size ? one : many}`
  }
  return `${Math.round(ms / 100) / 10} s`
}

/** BullMQ's wait before the next try, computed by BullMQ's own built-in strategies (the plugin sets no jitter). */
function nextDelay (backoffs: Bullmq['Backoffs'], tried: TryOf, error: Error): string {
  const backoff = tried.job.opts.backoff === undefined ? undefined : backoffs.normalize(tried.job.opts.backoff)
  const builtIn = backoff !== undefined && backoff.type in backoffs.builtinStrategies
  // BullMQ counts the failed try in attemptsMade when it asks for the delay, as `attempt` does
  const delay = builtIn ? backoffs.calculate({ ...backoff, jitter: 0 }, tried.attempt, error, tried.job) : undefined
  return typeof delay === 'number' ? formatDuration(delay) : 'the time its backoff strategy sets'
}

function keptFor (removeOnFail: JobsOptions['removeOnFail']): string {
  if (typeof removeOnFail === 'object' && 'age' in removeOnFail && typeof removeOnFail.age === 'number') return formatDuration(removeOnFail.age * 1000)
  return 'as long as the failed set keeps it'
}

/** What went wrong in the try, without the synchronous-mode advice of the pipeline's own messages. */
export function causeOf (outcome: PipelineOutcome): string {
  if (outcome.status !== 'failed') return 'error' in outcome ? `${outcome.error.code}: ${outcome.error.message}` : outcome.status
  const causes = outcome.cause instanceof AggregateError ? outcome.cause.errors : [outcome.cause]
  const messages = causes.map((cause) => cause instanceof Error ? cause.message : String(cause))
  return `${outcome.failures} of ${outcome.handlers} callback handlers failed: ${messages.join('; ')}`
}

/**
 * The error a failed try throws to BullMQ, whose message becomes the job's `failedReason`: true for
 * queue mode, where a redelivery of a stored callback is a duplicate and runs nothing. Before the last
 * try it says when the next one runs; after it, that the callback is a dead letter and how to replay it.
 */
export function tryFailure (backoffs: Bullmq['Backoffs'], tried: TryOf, cause: string, original: unknown): CodedError {
  const { attempts = 1, removeOnFail } = tried.job.opts
  const which = tried.attempt <= attempts
    ? `${tried.attempt} of ${attempts}`
    : `${tried.attempt} (of ${attempts} allowed: retried without resetting its tries)`
  const error = tried.attempt < attempts
    ? new codes.FST_SUPERAI_QUEUE_TRY_FAILED(which, cause, nextDelay(backoffs, tried, original instanceof Error ? original : new Error(cause)))
    : new codes.FST_SUPERAI_DEAD_LETTER(which, cause, keptFor(removeOnFail), JSON.stringify(tried.key))
  error.cause = original
  // BullMQ keeps the stack beside failedReason (bull-board's Error tab): show where the handlers threw
  const causes = original instanceof AggregateError ? original.errors : [original]
  error.stack = [`${error.name} [${error.code}]: ${error.message}`,
    ...causes.map((cause) => `caused by ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`)].join('\n')
  return error
}
