import { codes, isCoded } from '../errors.js'
import { traceHandlers } from '../observability.js'
import { logFieldsOf } from '../schema.js'
import { HandlerFailures, type Dispatcher, type HandlerContext, type JobHandlerContext, type SourceContext } from './dispatcher.js'
import type { PipelineOutcome } from './outcome.js'
import type { AfterClaim, ClaimedDelivery } from './pipeline.js'
import type { Settlement } from './settlement.js'
import { latestStateOf } from './supersession.js'
import { verifyFailureOf, type JobVerifier, type Verified } from './api-check.js'
import type { JobOutput, JobOutputs } from './job-output.js'
import { STATE_CHANGE_ACTION } from '../events.js'
import { isEntityEvent, type AnySuperaiEvent } from '../schema.js'

/**
 * The step after the claim that runs the handlers: verify -> supersession -> dispatch -> settle. A state
 * change learns with its claim which states of its job were already processed; one a later state
 * overtook runs with `superseded` (or, with `superseded: 'skip'`, is marked processed without running).
 * Decided here, when the handlers would run, not where the callback was received.
 */
export class RunHandlers implements AfterClaim {
  readonly readsMarks = true
  readonly waitForClaimMs = 0
  readonly #dispatcher: Dispatcher
  readonly #verifier: JobVerifier | undefined
  readonly #superseded: 'dispatch' | 'skip'
  readonly #claimKeyOf: (key: string) => string
  readonly #awaitCompletion: boolean
  readonly #outputs: JobOutputs | undefined
  readonly #onProcessed: ((uuid: string, state: string) => void) | undefined

  constructor (parts: {
    readonly dispatcher: Dispatcher
    readonly verifier?: JobVerifier | undefined
    /** A state change a later state of its job overtook: run the handlers with the flag (default), or skip them. */
    readonly superseded?: 'dispatch' | 'skip' | undefined
    /** The key the run claims; by default the delivery's own. */
    readonly claimKeyOf?: ((key: string) => string) | undefined
    /**
     * Whether a success waits for the store to record the completion (default true). A caller whose own
     * record keeps the handlers from running again need not wait; the write still lands, or is retried.
     */
    readonly awaitCompletion?: boolean | undefined
    /** Makes each job delivery's `context.output` (none: a context without it, as in tests of other parts). */
    readonly outputs?: JobOutputs | undefined
    /** A state change was processed (its handlers succeeded, or it was skipped): this process's waits learn it. */
    readonly onProcessed?: ((uuid: string, state: string) => void) | undefined
  }) {
    this.#dispatcher = parts.dispatcher
    this.#verifier = parts.verifier
    this.#superseded = parts.superseded ?? 'dispatch'
    this.#claimKeyOf = parts.claimKeyOf ?? ((key) => key)
    this.#awaitCompletion = parts.awaitCompletion ?? true
    this.#outputs = parts.outputs
    this.#onProcessed = parts.onProcessed
  }

  claimKeyOf (key: string): string {
    return this.#claimKeyOf(key)
  }

  async run (claimed: ClaimedDelivery, source: SourceContext, settlement: Settlement): Promise<PipelineOutcome> {
    const { delivery, claimKey, token, job } = claimed
    const { event, key, log } = delivery
    const latestState = job === undefined || claimed.marks === 0 ? undefined : latestStateOf(job.state, claimed.marks)
    if (latestState !== undefined && this.#superseded === 'skip') {
      // skipped counts as processed: recorded as a success is
      await settlement.complete(claimKey, token, log, job?.write === true ? job : undefined)
      this.#processed(event)
      return { status: 'superseded', delivery, latestState }
    }
    // a job the source already has (reconciliation's, as the API listed it) is not asked for again
    const given = source.source === 'reconcile' ? source.job : undefined
    let verified: Verified | undefined
    if (this.#verifier !== undefined && given === undefined) {
      try {
        verified = await this.#verifier.verify(event, log)
      } catch (err) {
        await settlement.release(claimKey, token, log)
        const error = isCoded(err) ? err : new codes.FST_SUPERAI_INTERNAL()
        return { status: verifyFailureOf(error), error, delivery }
      }
    }
    const output = this.#outputs === undefined || isEntityEvent(event) ? undefined : this.#outputs.forDelivery(event.uuid)
    const context = contextOf(source, { log, key, job: given ?? verified?.job, batch: verified?.batch, superseded: latestState !== undefined, latestState }, output)
    try {
      const trace = delivery.trace
      await traceHandlers(event, key, source.source, () => this.#dispatcher.dispatch(event, context, trace?.enabled === true ? async (name, run) => { await trace.runHandler(name, run) } : undefined))
    } catch (cause) {
      const failures = cause instanceof AggregateError ? cause.errors.length : 1
      const handlers = cause instanceof HandlerFailures ? cause.handlerCount : failures
      log.error({ err: cause, ...logFieldsOf(event), key }, 'super.AI callback handler failed')
      await settlement.release(claimKey, token, log)
      const error = new codes.FST_SUPERAI_HANDLER_FAILED(failures, handlers)
      return { status: 'failed', error, cause, delivery, failures, handlers, latestState }
    }
    const marks = job?.write === true ? job : undefined
    const completion = settlement.complete(claimKey, token, log, marks)
    if (this.#awaitCompletion) {
      await completion
      this.#processed(event)
    } else if (this.#onProcessed !== undefined) {
      void completion.then(() => { this.#processed(event) })
    }
    return { status: 'processed', delivery, latestState }
  }

  /** Tells this process's waits that a state change was processed (other processes learn it from the store). */
  #processed (event: AnySuperaiEvent): void {
    if (this.#onProcessed !== undefined && !isEntityEvent(event) && event.action === STATE_CHANGE_ACTION) this.#onProcessed(event.uuid, event.state)
  }
}

type Added = Omit<HandlerContext, 'source' | 'request' | 'attempt'>

/** The handlers' context: the source's part and the pipeline's, built field by field (a spread costs more than the rest of the step). */
function contextOf (source: SourceContext, added: Added, output: JobOutput | undefined): HandlerContext | JobHandlerContext {
  const { log, key, job, batch, superseded, latestState } = added
  // a job callback's context has its output; a batch callback's has none
  if (output !== undefined) {
    switch (source.source) {
      case 'http': return { source: 'http', request: source.request, log, key, job, batch, superseded, latestState, output }
      case 'queue': return { source: 'queue', attempt: source.attempt, log, key, job, batch, superseded, latestState, output }
      case 'reconcile': return { source: 'reconcile', job: source.job, log, key, superseded, latestState, output }
    }
  }
  switch (source.source) {
    case 'http': return { source: 'http', request: source.request, log, key, job, batch, superseded, latestState }
    case 'queue': return { source: 'queue', attempt: source.attempt, log, key, job, batch, superseded, latestState }
    case 'reconcile': return { source: 'reconcile', job: source.job, log, key, superseded, latestState }
  }
}
