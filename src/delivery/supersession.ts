import { JOB_STATES, STATE_CHANGE_ACTION, isJobState, lifecyclePosition, type JobState } from '../events.js'
import { isEntityEvent, type AnySuperaiEvent, type SuperaiEvent } from '../schema.js'
import type { IdempotencyStore, JobStatesQuery, StateRecord } from '../store/store.js'
import { processedChannel } from '../wait/redis-feed.js'
import { defaultIdempotencyKey, jobMarksKey, jobTag, stateSuffix } from './idempotency-key.js'

/**
 * Each callback state's bit in a job's marks. Written out, not taken from the order of JOB_STATES: marks
 * outlive a deploy in a shared store, so a bit must never change meaning (a new state takes a new bit).
 */
const STATE_BITS: { readonly [S in JobState]: number } = Object.freeze({
  FAILED: 0,
  SUSPENDED: 1,
  CANCELED: 2,
  EXPIRED: 3,
  COMPLETED: 4,
  REVIEWED: 5,
  'POST PROCESSING': 6,
  'POST PROCESSED': 7,
  'NEEDS REVIEW': 8
})

const markOf = (state: JobState): number => 1 << STATE_BITS[state]

/**
 * Whether `later` can only come after `state` in the documented lifecycle: reachable from it, and it not
 * reachable back. States on two branches (POST PROCESSED and NEEDS REVIEW, COMPLETED and FAILED) are
 * neither before nor after each other, so neither ever supersedes the other.
 */
export const comesAfter = (state: JobState, later: JobState): boolean =>
  lifecyclePosition(state, later) === 'behind' && lifecyclePosition(later, state) !== 'behind'

/** For each state, the marks of the states that can only come after it: one AND tells a late callback. */
const AFTER: ReadonlyMap<JobState, number> = new Map(JOB_STATES.map((state) => [
  state,
  JOB_STATES.reduce((mask, later) => comesAfter(state, later) ? mask | markOf(later) : mask, 0)
]))

/** Whether any state can only come before each state: if none, its mark would never tell anything. */
const HAS_BEFORE: ReadonlySet<JobState> = new Set(JOB_STATES.filter((state) => JOB_STATES.some((earlier) => comesAfter(earlier, state))))

/** For each state, the states that can only come after it: the keys its claim reads. */
const LATER: ReadonlyMap<JobState, readonly JobState[]> = new Map(JOB_STATES.map((state) => [state, JOB_STATES.filter((later) => comesAfter(state, later))]))

/** What a state change reads of its job's processed states, and where its completion records its own. */
export interface JobMarks {
  readonly state: JobState
  /** Whether a later state could supersede it: only then is the claim the script that reads the job's states. */
  readonly read: boolean
  /** What the claim reads: the keys of the later states (default key) and the job's marks key. */
  readonly query: JobStatesQuery
  /** Whether the completion records the state: only then is it `completeAndMark`. */
  readonly write: boolean
  readonly record: StateRecord
}

/** The part of the settings that decides where a job's states are kept. */
export interface MarksSettings {
  readonly keyPrefix: string
  readonly idempotencyKey: (event: SuperaiEvent) => string
}

/**
 * What a job state change (action RESOLVED) in a documented state reads and records; undefined for any
 * other action, a v2 callback or an undocumented state, which are never superseded. A state that ends a
 * job (POST PROCESSED, REVIEWED, FAILED, ...) reads nothing, so its claim stays the plain one.
 *
 * With the default `idempotencyKey` a state change's key derives from (uuid, state), so its processed
 * states are its state keys holding HANDLED: the claim reads the keys of the later states, the completion
 * writes HANDLED into `key` (the callback's key; in queue mode the worker's run claim sits beside it), and
 * no key is kept per job. The per-job marks key an earlier version wrote is read too until it expires. A
 * custom `idempotencyKey` cannot be derived: its states are bits in the per-job marks key.
 */
export function jobMarksOf (event: AnySuperaiEvent, settings: MarksSettings, key: string): JobMarks | undefined {
  if (isEntityEvent(event) || event.action !== STATE_CHANGE_ACTION || !isJobState(event.state)) return undefined
  const state = event.state
  const marksKey = settings.keyPrefix + jobMarksKey(event.uuid)
  const later = LATER.get(state) ?? []
  // what other instances' waitFor learn, in the completion's own write
  const announce = { channel: processedChannel(settings.keyPrefix, event.uuid.toLowerCase()), state }
  if (settings.idempotencyKey !== defaultIdempotencyKey) {
    return { state, read: later.length > 0, query: { marksKey, stateKeys: [], stateBits: [] }, write: HAS_BEFORE.has(state), record: { marksKey, mark: markOf(state), announce } }
  }
  const tag = settings.keyPrefix + jobTag(event.uuid)
  return {
    state,
    read: later.length > 0,
    query: { marksKey, stateKeys: later.map((s) => tag + stateSuffix(s)), stateBits: later.map(markOf) },
    // every state is recorded: its key is written anyway, and a job's processed states are read from them
    write: true,
    record: { stateKey: key, announce }
  }
}

/**
 * The states of job `uuid` already processed (within `ttl`): `waitFor`'s read before it waits. With the
 * default key, the job's state keys holding HANDLED (one `handled` read); with a custom `idempotencyKey`,
 * the bits of the job's marks key. A store lacking the method reads none.
 */
export async function processedStatesOf (store: IdempotencyStore, settings: MarksSettings, uuid: string): Promise<JobState[]> {
  if (settings.idempotencyKey !== defaultIdempotencyKey) {
    const value = store.read === undefined ? undefined : await store.read(settings.keyPrefix + jobMarksKey(uuid))
    const marks = Number(value ?? 0)
    return Number.isSafeInteger(marks) ? JOB_STATES.filter((state) => (marks & markOf(state)) !== 0) : []
  }
  if (store.handled === undefined) return []
  const keys = stateKeysOf(uuid, settings.keyPrefix)
  const held = await store.handled(keys.map(({ key }) => key))
  return keys.flatMap(({ state }, i) => held[i] === true ? [state] : [])
}

/** The keys of a job's state changes under the default key, and each one's state: where its processed states are read (`handled`). */
export function stateKeysOf (uuid: string, keyPrefix: string): ReadonlyArray<{ readonly state: JobState, readonly key: string }> {
  const tag = keyPrefix + jobTag(uuid)
  return JOB_STATES.map((state) => ({ state, key: tag + stateSuffix(state) }))
}

/**
 * The furthest state among `marks` that can only come after `state`, or undefined when there is none
 * (the callback is not superseded). Of two such states on different branches, the first of JOB_STATES.
 */
export function latestStateOf (state: JobState, marks: number): JobState | undefined {
  const later = marks & (AFTER.get(state) ?? 0)
  if (later === 0) return undefined
  // the furthest: a later state that no other later state follows; a strict order always has one
  return JOB_STATES.find((candidate) => (later & markOf(candidate)) !== 0 && (later & (AFTER.get(candidate) ?? 0)) === 0)
}
