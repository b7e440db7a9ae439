/**
 * The one list of documented values; event names, method names and their types all derive from it.
 * Sources: super.AI's "Job callbacks" pages (the later one adds REVIEWED, POST PROCESSING, ... and the TAG
 * actions) and its API reference, "Job states".
 */
export const JOB_STATES = [
  'FAILED', 'SUSPENDED', 'CANCELED', 'EXPIRED', 'COMPLETED',
  'REVIEWED', 'POST PROCESSING', 'POST PROCESSED', 'NEEDS REVIEW'
] as const
export const JOB_ACTIONS = ['RESOLVED', 'EDITED', 'TAG ADDED', 'TAG REMOVED', 'ACCEPTED', 'DECLINED'] as const

export type JobState = typeof JOB_STATES[number]
export type JobAction = typeof JOB_ACTIONS[number]

/**
 * The job object's `status` as the API reference spells it ("Job states"): the callback states plus those
 * no callback announces (a job waiting or in progress). Callbacks spell some with spaces (`POST PROCESSED`);
 * `normalizeValue` maps either spelling to the callback one.
 */
export const API_JOB_STATUSES = [
  'PENDING', 'SCHEDULED', 'IN_PROGRESS', 'NEEDS_WORK', 'COMPLETED', 'POST_PROCESSING', 'POST_PROCESSED',
  'NEEDS_REVIEW', 'REVIEWED', 'FAILED', 'CANCELED', 'EXPIRED', 'SUSPENDED'
] as const
export type ApiJobStatus = typeof API_JOB_STATUSES[number]
/** The states of a job that no callback announces, in callback spelling. */
const UNANNOUNCED_STATES = ['PENDING', 'SCHEDULED', 'IN PROGRESS', 'NEEDS WORK'] as const
export type UnannouncedState = typeof UNANNOUNCED_STATES[number]
/** Every state of a job, in callback spelling: what a normalised `status` can be when it is documented. */
export type JobStatus = JobState | UnannouncedState
/** The states that end a job without output ("Job states"); a job may reach them before it completes. */
const ENDED_EARLY = ['FAILED', 'CANCELED', 'EXPIRED'] as const satisfies readonly JobStatus[]
/** A job that is waiting or being worked on may also be paused, and a paused job resumes where it was. */
const ACTIVE_EXITS = ['SUSPENDED', ...ENDED_EARLY] as const satisfies readonly JobStatus[]

/**
 * The documented lifecycle of a job, one row per state: the states it can move to next. PENDING ->
 * SCHEDULED -> IN PROGRESS -> (NEEDS WORK) -> COMPLETED -> POST PROCESSING -> POST PROCESSED, or NEEDS
 * REVIEW -> REVIEWED; FAILED, CANCELED and EXPIRED end a job without output; SUSPENDED pauses it (a
 * paused job resumes, so it may still reach any state an active job can). What the documents leave open
 * is read leniently: a move that might happen is listed, so `verify` never refuses for good a callback
 * that could be genuine.
 */
export const JOB_LIFECYCLE: { readonly [S in JobStatus]: readonly JobStatus[] } = Object.freeze({
  PENDING: ['SCHEDULED', 'IN PROGRESS', ...ACTIVE_EXITS],
  SCHEDULED: ['IN PROGRESS', ...ACTIVE_EXITS],
  'IN PROGRESS': ['NEEDS WORK', 'COMPLETED', ...ACTIVE_EXITS],
  'NEEDS WORK': ['IN PROGRESS', 'COMPLETED', ...ACTIVE_EXITS],
  SUSPENDED: ['PENDING', 'SCHEDULED', 'IN PROGRESS', 'NEEDS WORK', 'COMPLETED', ...ENDED_EARLY],
  COMPLETED: ['POST PROCESSING'],
  'POST PROCESSING': ['POST PROCESSED', 'NEEDS REVIEW'],
  'NEEDS REVIEW': ['REVIEWED'],
  'POST PROCESSED': [],
  REVIEWED: [],
  FAILED: [],
  CANCELED: [],
  EXPIRED: []
})

/** Every state reachable from each state along JOB_LIFECYCLE (itself excluded unless a cycle leads back). */
const REACHABLE: ReadonlyMap<JobStatus, ReadonlySet<JobStatus>> = new Map(
  (Object.keys(JOB_LIFECYCLE) as JobStatus[]).map((from) => {
    const seen = new Set<JobStatus>()
    const next = [...JOB_LIFECYCLE[from]]
    for (let state = next.pop(); state !== undefined; state = next.pop()) {
      if (seen.has(state)) continue
      seen.add(state)
      next.push(...JOB_LIFECYCLE[state])
    }
    return [from, seen]
  })
)

/**
 * Where a callback's state stands against the job's current status, both in callback spelling:
 * `same`; `behind` (the job has moved on since: the callback is late); `ahead` (the job can still reach
 * it: the API has not caught up); `contradicts` (the job can never be in that state again); `unknown`
 * (one of them is undocumented, so its place in the lifecycle is unknown). A paused job both precedes
 * and follows the active states; `behind` wins, since the job did pass through the callback's state.
 */
export type LifecyclePosition = 'same' | 'behind' | 'ahead' | 'contradicts' | 'unknown'

export function lifecyclePosition (callbackState: string, jobStatus: string): LifecyclePosition {
  if (callbackState === jobStatus) return 'same'
  if (!isJobStatus(callbackState) || !isJobStatus(jobStatus)) return 'unknown'
  if (REACHABLE.get(callbackState)?.has(jobStatus) === true) return 'behind'
  if (REACHABLE.get(jobStatus)?.has(callbackState) === true) return 'ahead'
  return 'contradicts'
}

/** A state change is announced with this action; every other action has an event of its own. */
export const STATE_CHANGE_ACTION = 'RESOLVED' satisfies JobAction
export type StateChangeAction = typeof STATE_CHANGE_ACTION
export type OtherAction = Exclude<JobAction, StateChangeAction>

/** `'POST PROCESSING'` -> `'postProcessing'`, `'PARTIAL_FAILURE'` -> `'partialFailure'`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head} ${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : S extends `${infer Head}_${infer Tail}`
    ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
    : Lowercase<S>

/** The same transformation at run time, so the names cannot drift from the types. */
function camelCase<S extends string> (value: S): CamelCase<S> {
  const [head = '', ...tail] = value.toLowerCase().split(/[ _]/)
  return (head + tail.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')) as CamelCase<S>
}

export type StateEventName = `job.${CamelCase<JobState>}`
export type ActionEventName = `job.${CamelCase<OtherAction>}`
/** The events of job callbacks: `callback` receives every one of them. */
export type JobEventName = StateEventName | ActionEventName | 'callback'

/**
 * super.AI's newer callback schema (`"version": "2"`, "Job batch callbacks") names an entity instead of a
 * job. `batch` is the one documented `entityType`; receivers are told to expect others later.
 */
export const ENTITY_TYPES = ['batch'] as const
export type EntityType = typeof ENTITY_TYPES[number]
/** The states of a batch callback, in super.AI's spelling (`PARTIAL_FAILURE`, with the underscore). */
export const BATCH_STATES = ['COMPLETED', 'FAILED', 'PARTIAL_FAILURE'] as const
export type BatchState = typeof BATCH_STATES[number]
export type BatchEventName = `batch.${CamelCase<BatchState>}`
/** The events of v2 callbacks: `entity` receives every one of them, and job callbacks never reach it. */
export type EntityEventName = BatchEventName | 'entity'

export type EventName = JobEventName | EntityEventName

/** The event a documented state fires (with action RESOLVED). */
const stateEventName = <S extends JobState>(state: S): `job.${CamelCase<S>}` => `job.${camelCase(state)}`
/** The event a documented non-RESOLVED action fires. */
const actionEventName = <A extends OtherAction>(action: A): `job.${CamelCase<A>}` => `job.${camelCase(action)}`

/** The event a documented batch state fires. */
const batchEventName = <S extends BatchState>(state: S): `batch.${CamelCase<S>}` => `batch.${camelCase(state)}`

const OTHER_ACTIONS = JOB_ACTIONS.filter((a): a is OtherAction => a !== STATE_CHANGE_ACTION)

/** The event of each documented state and action, built once: a delivery looks its event up here. */
const STATE_EVENTS: ReadonlyMap<string, StateEventName> = new Map(JOB_STATES.map((state) => [state, stateEventName(state)]))
const ACTION_EVENTS: ReadonlyMap<string, ActionEventName> = new Map(OTHER_ACTIONS.map((action) => [action, actionEventName(action)]))
const BATCH_EVENTS: ReadonlyMap<string, BatchEventName> = new Map(BATCH_STATES.map((state) => [state, batchEventName(state)]))

export const EVENT_NAMES: readonly EventName[] = Object.freeze([
  ...STATE_EVENTS.values(), ...ACTION_EVENTS.values(), 'callback' as const, ...BATCH_EVENTS.values(), 'entity' as const
])

/** `'job.tagAdded'` -> `'onJobTagAdded'`, `'batch.partialFailure'` -> `'onBatchPartialFailure'`, `'callback'` -> `'onCallback'`. */
export type MethodName<E extends EventName> = E extends `${infer Scope}.${infer Rest}` ? `on${Capitalize<Scope>}${Capitalize<Rest>}` : `on${Capitalize<E>}`

export const methodName = <E extends EventName>(name: E): MethodName<E> => {
  const dot = name.indexOf('.')
  const bare = dot === -1 ? name : `${name.slice(0, dot)}${name.charAt(dot + 1).toUpperCase()}${name.slice(dot + 2)}`
  return `on${bare.charAt(0).toUpperCase()}${bare.slice(1)}` as MethodName<E>
}

/** The state and action each job event is narrowed to. */
export type EventValues<E extends JobEventName> =
  E extends StateEventName ? { state: Extract<JobState, StateOf<E>>, action: StateChangeAction }
    : E extends ActionEventName ? { state: JobState, action: Extract<OtherAction, ActionOf<E>> }
      : { state: JobState | UnknownValue, action: JobAction | UnknownValue }

/** The entity type and state each v2 event is narrowed to. */
export type EntityValues<E extends EntityEventName> =
  E extends BatchEventName ? { entityType: 'batch', state: Extract<BatchState, BatchStateOf<E>> }
    : { entityType: EntityType | UnknownValue, state: BatchState | UnknownValue }

type BatchStateOf<E extends BatchEventName> = { [S in BatchState]: `batch.${CamelCase<S>}` extends E ? S : never }[BatchState]
type StateOf<E extends StateEventName> = { [S in JobState]: `job.${CamelCase<S>}` extends E ? S : never }[JobState]
type ActionOf<E extends ActionEventName> = { [A in OtherAction]: `job.${CamelCase<A>}` extends E ? A : never }[OtherAction]

/** A value super.AI may add later: any string, still offering the documented ones to autocompletion. */
export type UnknownValue = string & Record<never, never>

const KNOWN_STATES: ReadonlySet<string> = new Set(JOB_STATES)
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(JOB_ACTIONS)
export const isJobState = (value: string): value is JobState => KNOWN_STATES.has(value)
export const isJobAction = (value: string): value is JobAction => KNOWN_ACTIONS.has(value)
const KNOWN_STATUSES: ReadonlySet<string> = new Set<string>([...JOB_STATES, ...UNANNOUNCED_STATES])
export const isJobStatus = (value: string): value is JobStatus => KNOWN_STATUSES.has(value)

/**
 * The named event a callback fires besides `callback`, or undefined when its state or action is
 * undocumented (such a callback reaches only `callback` handlers, so no `job.*` handler sees a value
 * it was not typed for).
 */
export function eventNameOf (state: string, action: string): StateEventName | ActionEventName | undefined {
  if (!isJobState(state) || !isJobAction(action)) return undefined
  return action === STATE_CHANGE_ACTION ? STATE_EVENTS.get(state) : ACTION_EVENTS.get(action)
}

const KNOWN_ENTITY_TYPES: ReadonlySet<string> = new Set(ENTITY_TYPES)
const KNOWN_BATCH_STATES: ReadonlySet<string> = new Set(BATCH_STATES)
export const isEntityType = (value: string): value is EntityType => KNOWN_ENTITY_TYPES.has(value)
export const isBatchState = (value: string): value is BatchState => KNOWN_BATCH_STATES.has(value)

/**
 * The named event a v2 callback fires besides `entity`, or undefined when its entity type or state is
 * undocumented (such a callback reaches only `entity` handlers).
 */
export function entityEventNameOf (entityType: string, state: string): BatchEventName | undefined {
  return entityType === 'batch' ? BATCH_EVENTS.get(state) : undefined
}
