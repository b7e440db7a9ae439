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
export const UNANNOUNCED_STATES = ['PENDING', 'SCHEDULED', 'IN PROGRESS', 'NEEDS WORK'] as const
export type UnannouncedState = typeof UNANNOUNCED_STATES[number]
/** Every state of a job, in callback spelling: what a normalised `status` can be when it is documented. */
export type JobStatus = JobState | UnannouncedState
/** A state change is announced with this action; every other action has an event of its own. */
export const STATE_CHANGE_ACTION = 'RESOLVED' satisfies JobAction
export type StateChangeAction = typeof STATE_CHANGE_ACTION
export type OtherAction = Exclude<JobAction, StateChangeAction>

/** `'POST PROCESSING'` -> `'postProcessing'`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head} ${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>

/** The same transformation at run time, so the names cannot drift from the types. */
function camelCase<S extends string> (value: S): CamelCase<S> {
  const [head = '', ...tail] = value.toLowerCase().split(' ')
  return (head + tail.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')) as CamelCase<S>
}

export type StateEventName = `job.${CamelCase<JobState>}`
export type ActionEventName = `job.${CamelCase<OtherAction>}`
export type EventName = StateEventName | ActionEventName | 'callback'

/** The event a documented state fires (with action RESOLVED). */
export const stateEventName = <S extends JobState>(state: S): `job.${CamelCase<S>}` => `job.${camelCase(state)}`
/** The event a documented non-RESOLVED action fires. */
export const actionEventName = <A extends OtherAction>(action: A): `job.${CamelCase<A>}` => `job.${camelCase(action)}`

const OTHER_ACTIONS = JOB_ACTIONS.filter((a): a is OtherAction => a !== STATE_CHANGE_ACTION)

/** The event of each documented state and action, built once: a delivery looks its event up here. */
const STATE_EVENTS: ReadonlyMap<string, StateEventName> = new Map(JOB_STATES.map((state) => [state, stateEventName(state)]))
const ACTION_EVENTS: ReadonlyMap<string, ActionEventName> = new Map(OTHER_ACTIONS.map((action) => [action, actionEventName(action)]))

export const EVENT_NAMES: readonly EventName[] = Object.freeze([...STATE_EVENTS.values(), ...ACTION_EVENTS.values(), 'callback' as const])

/** `'job.tagAdded'` -> `'onJobTagAdded'`, `'callback'` -> `'onCallback'`. */
export type MethodName<E extends EventName> = E extends `job.${infer Rest}` ? `onJob${Capitalize<Rest>}` : `on${Capitalize<E>}`

export const methodName = <E extends EventName>(name: E): MethodName<E> => {
  const bare = name.startsWith('job.') ? `job${name.charAt(4).toUpperCase()}${name.slice(5)}` : name
  return `on${bare.charAt(0).toUpperCase()}${bare.slice(1)}` as MethodName<E>
}

/** The state and action each event is narrowed to. */
export type EventValues<E extends EventName> =
  E extends StateEventName ? { state: Extract<JobState, StateOf<E>>, action: StateChangeAction }
    : E extends ActionEventName ? { state: JobState, action: Extract<OtherAction, ActionOf<E>> }
      : { state: JobState | UnknownValue, action: JobAction | UnknownValue }

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
