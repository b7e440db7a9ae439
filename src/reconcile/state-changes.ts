import type { SuperaiClient, SuperaiJob } from '../client/client.js'
import { normalizeStatus } from '../delivery/normalize.js'
import { STATE_CHANGE_ACTION, isJobState, isJobStatus } from '../events.js'
import type { SuperaiEvent } from '../schema.js'

/**
 * What reconciliation reads from a job list, for the plugin's passes and the CLI alike: which jobs to list,
 * the state change each one announces, and how the list is walked.
 */

/** A project's jobs completed from `from` to `to`, page after page (the client's page size, the SDK's 500). */
export function completedJobs (client: SuperaiClient, appId: string, from: Date, to: Date, signal: AbortSignal): AsyncIterableIterator<SuperaiJob> {
  return client.jobs(appId, { sortBy: 'id', orderBy: 'asc', completedStartDate: from, completedEndDate: to }, { signal })
}

/** The state change a listed job stands for, or why it stands for none. */
export type StateChange =
  | { readonly event: SuperaiEvent, readonly skipped?: undefined }
  /** `incomplete`: no uuid or status; `unannounced`: waiting or in progress; `undocumented`: a status no document lists. */
  | { readonly event?: undefined, readonly skipped: 'incomplete' | 'unannounced' | 'undocumented' }

/** The event of the job's current state, as its callback would announce it, marked `reconciled`. */
export function stateChangeOf (job: SuperaiJob): StateChange {
  const { uuid, status } = job
  if (typeof uuid !== 'string' || typeof status !== 'string') return { skipped: 'incomplete' }
  const state = normalizeStatus(status)
  if (!isJobState(state)) return { skipped: isJobStatus(state) ? 'unannounced' : 'undocumented' }
  return { event: { id: job.id === undefined ? '' : String(job.id), uuid: uuid.toLowerCase(), state, action: STATE_CHANGE_ACTION, reconciled: true } }
}

/**
 * Visits every item, at most `limit` visits running at once, while the next items (the next page) are read:
 * memory stays flat whatever the number of jobs. A visit that returns undefined took no slot. Stops reading
 * when `signal` aborts; resolves once every visit started has ended.
 */
export async function forEachBounded<T> (items: AsyncIterable<T>, limit: number, signal: AbortSignal,
  visit: (item: T) => Promise<void> | undefined): Promise<void> {
  const running = new Set<Promise<void>>()
  try {
    for await (const item of items) {
      const visiting = visit(item)
      if (visiting === undefined) continue
      const tracked = visiting.finally(() => { running.delete(tracked) })
      running.add(tracked)
      if (running.size >= limit) await Promise.race(running)
      if (signal.aborted) break
    }
  } finally {
    await Promise.all(running)
  }
}
