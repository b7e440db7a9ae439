import { JOB_STATES, STATE_CHANGE_ACTION, isJobState, lifecyclePosition, type JobState } from '../events.js'
import { isEntityEvent, type AnySuperaiEvent } from '../schema.js'
import { jobMarksKey } from './idempotency-key.js'

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

/** What a state change reads from and adds to its job's marks, and where they are kept. */
export interface JobMarks {
  /** The store key of the job's marks, prefix included. */
  readonly key: string
  readonly state: JobState
  /** This state's bit. */
  readonly mark: number
  /** Whether a later state could supersede it: only then is the claim the script that reads the marks. */
  readonly read: boolean
  /** Whether an earlier state could be superseded by it: only then does the completion add its mark. */
  readonly write: boolean
}

/**
 * The marks of a job state change (action RESOLVED) in a documented state; undefined for any other
 * action, a v2 callback or an undocumented state, which are never superseded. A state that ends a job
 * (POST PROCESSED, REVIEWED, FAILED, ...) reads nothing, so its claim stays the plain one.
 */
export function jobMarksOf (event: AnySuperaiEvent, keyPrefix: string): JobMarks | undefined {
  if (isEntityEvent(event) || event.action !== STATE_CHANGE_ACTION || !isJobState(event.state)) return undefined
  const state = event.state
  return { key: keyPrefix + jobMarksKey(event.uuid), state, mark: markOf(state), read: AFTER.get(state) !== 0, write: HAS_BEFORE.has(state) }
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
