import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { codes } from '../errors.js'
import { EVENT_NAMES, entityEventNameOf, eventNameOf, methodName, type EntityEventName, type EventName, type JobState, type MethodName } from '../events.js'
import { isEntityEvent, type AnySuperaiEvent, type SuperaiEvent } from '../schema.js'
import type { SuperaiBatch, SuperaiJob } from '../client/api-schema.js'
import type { JobOutput } from './job-output.js'

interface ContextBase {
  /** The delivery's logger (in synchronous mode bound to its request id). */
  readonly log: FastifyBaseLogger
  /** The idempotency key of this callback, prefix included. */
  readonly key: string
  /** With the `verify` option, the job as the super.AI API reported it (with `appId`); otherwise undefined. */
  readonly job: SuperaiJob | undefined
  /** With the `verify` option, for a batch callback (v2): the batch as the super.AI API reported it. */
  readonly batch?: SuperaiBatch | undefined
  /**
   * A state change (action RESOLVED) whose job was already processed in a state that can only come after
   * this one in super.AI's lifecycle (a late `COMPLETED` after `POST PROCESSED`): writing this state would
   * move the job backwards. Always false for other actions and v2 callbacks.
   */
  readonly superseded: boolean
  /** When `superseded`: the furthest state of the job already processed, in the callbacks' spelling. */
  readonly latestState?: JobState | undefined
}

/** Synchronous mode: the handlers run inside the delivery's request, and the answer waits for them. */
export interface HttpHandlerContext extends ContextBase {
  readonly source: 'http'
  /** The delivery's HTTP request. */
  readonly request: FastifyRequest
}

/** Queue mode: a worker runs the handlers, apart from any request. */
export interface QueueHandlerContext extends ContextBase {
  readonly source: 'queue'
  /** Which try this is, counting from 1. */
  readonly attempt: number
}

/**
 * Synchronous mode, a state change found by reconciliation (its callback never arrived, or was never
 * processed): the event carries `reconciled: true`, and `job` is the job object the list returned.
 */
export interface ReconcileHandlerContext extends ContextBase {
  readonly source: 'reconcile'
  readonly job: SuperaiJob
}

/** What a handler gets besides the event; `source` tells where it runs and narrows the rest. */
export type HandlerContext = HttpHandlerContext | QueueHandlerContext | ReconcileHandlerContext

/** The part of a handler's context the adapter that brought the delivery gives; the pipeline adds the rest. */
export type SourceContext =
  | Pick<HttpHandlerContext, 'source' | 'request'>
  | Pick<QueueHandlerContext, 'source' | 'attempt'>
  | Pick<ReconcileHandlerContext, 'source' | 'job'>

/**
 * The context of a job callback's handler: `output(schema?)`, the job's output (`GET jobs/{uuid}/response`
 * through the `api` option's key), fetched once per delivery and shared by every handler and call.
 */
export type JobHandlerContext = HandlerContext & {
  readonly output: JobOutput
}

/** A handler of event `E`: a job event's context has `output`, a batch (v2) event's has not. */
export type SuperaiHandler<E extends EventName = 'callback'> =
  (event: SuperaiEvent<E>, context: E extends EntityEventName ? HandlerContext : JobHandlerContext) => void | Promise<void>

/** Removes the handler it was returned for. */
export type Unsubscribe = () => void

/** `app.superai`: `on(name, handler)` plus one `onJobCompleted`-style method per event. */
export type SuperaiSubscriptions = {
  on<E extends EventName>(name: E, handler: SuperaiHandler<E>): Unsubscribe
} & {
  readonly [E in EventName as MethodName<E>]: (handler: SuperaiHandler<E>) => Unsubscribe
}

/** A handler stored under its own event name is only ever called with that event's callbacks. */
type StoredHandler = (event: AnySuperaiEvent, context: HandlerContext) => void | Promise<void>

const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_NAMES)

/** The failures of one callback's handlers (each in `errors`) and how many handlers ran. */
export class HandlerFailures extends AggregateError {
  readonly handlerCount: number

  constructor (errors: readonly unknown[], handlerCount: number) {
    super(errors, `${errors.length} of ${handlerCount} handlers failed`)
    this.handlerCount = handlerCount
  }
}

/** Runs one handler (`telemetry`: in a span of its own, named by the callback's event, and timed). */
export type HandlerRun = (eventName: string, run: () => Promise<void>) => Promise<void>

/** Holds the handlers and runs them for one callback, wherever it arrived from (a request or a queue). */
export class Dispatcher {
  readonly #handlers = new Map<EventName, Set<StoredHandler>>()

  on<E extends EventName> (name: E, handler: SuperaiHandler<E>): Unsubscribe {
    if (!KNOWN_EVENTS.has(name)) throw new codes.FST_SUPERAI_UNKNOWN_EVENT(String(name))
    if (typeof handler !== 'function') throw new codes.FST_SUPERAI_INVALID_HANDLER(name)
    const stored = handler as StoredHandler
    let set = this.#handlers.get(name)
    if (set === undefined) this.#handlers.set(name, set = new Set())
    set.add(stored)
    return () => { set.delete(stored) }
  }

  /**
   * The handlers a callback reaches: its own event's (when its values are documented), then those of its
   * catch-all: `callback` for a job callback, `entity` for a v2 one (never both).
   */
  handlersFor (event: AnySuperaiEvent): StoredHandler[] {
    const entity = isEntityEvent(event)
    const name = entity ? entityEventNameOf(event.entityType, event.state) : eventNameOf(event.state, event.action)
    const handlers: StoredHandler[] = []
    for (const handler of name === undefined ? [] : this.#handlers.get(name) ?? []) handlers.push(handler)
    for (const handler of this.#handlers.get(entity ? 'entity' : 'callback') ?? []) handlers.push(handler)
    return handlers
  }

  /**
   * Runs every handler concurrently and waits for all of them; when any fail, rejects with a
   * HandlerFailures holding each failure, so none is swallowed, and how many handlers ran.
   */
  async dispatch (event: AnySuperaiEvent, context: HandlerContext, runHandler?: HandlerRun): Promise<void> {
    const handlers = runHandler === undefined ? this.handlersFor(event) : this.#traced(event, runHandler)
    // the common case, one handler, without the allSettled machinery
    if (handlers.length === 1 && handlers[0] !== undefined) {
      try {
        await handlers[0](event, context)
      } catch (err) {
        throw new HandlerFailures([err], 1)
      }
      return
    }
    const results = await Promise.allSettled(handlers.map(async (handler) => { await handler(event, context) }))
    const errors = results.flatMap((result) => result.status === 'rejected' ? [result.reason as unknown] : [])
    if (errors.length > 0) throw new HandlerFailures(errors, handlers.length)
  }

  /** `event`'s handlers, each run through `runHandler` under the name of the callback's event. */
  #traced (event: AnySuperaiEvent, runHandler: HandlerRun): StoredHandler[] {
    const name = isEntityEvent(event) ? entityEventNameOf(event.entityType, event.state) ?? 'entity' : eventNameOf(event.state, event.action) ?? 'callback'
    return this.handlersFor(event).map((handler): StoredHandler => async (e, c) => { await runHandler(name, async () => { await handler(e, c) }) })
  }

  /** The `app.superai` object: `on` and the per-event methods, built from the one list of names. */
  subscriptions (): SuperaiSubscriptions {
    const subscriptions: Record<string, unknown> = { on: this.on.bind(this) }
    for (const name of EVENT_NAMES) {
      subscriptions[methodName(name)] = (handler: SuperaiHandler<typeof name>) => this.on(name, handler)
    }
    // the loop above wrote exactly the mapped keys of SuperaiSubscriptions
    return Object.freeze(subscriptions) as SuperaiSubscriptions
  }
}
