/**
 * Which completions a pass reads. super.AI lists a project's jobs by completion date (`completedStartDate`,
 * `completedEndDate`), so a pass that reads only what completed since the previous one costs a page or
 * two. But a job's later states (post-processing, review) keep its original `completed` date, so only a
 * read of the whole lookback sees them: that is done every FULL_PASS_EVERY_MS, and whenever the shared
 * watermark is missing (a first start, or a fleet down for longer than the lookback).
 */

/** Between two full-window passes, whatever the interval. */
export const FULL_PASS_EVERY_MS = 60 * 60 * 1000
/**
 * Each incremental read starts this long before the previous pass began: a job completed just before it
 * may show in the list a little later, and the clocks of super.AI and of this host differ.
 */
export const OVERLAP_MS = 2 * 60 * 1000

/** What the instances sharing the store agree was read, per project (stored as JSON). */
export interface Watermark {
  /** Start of the last pass that listed this project to its end, in ms. */
  readonly since: number
  /** Start of the last such pass that read the whole lookback, in ms. */
  readonly fullAt: number
}

interface PassWindow {
  readonly from: number
  readonly to: number
  readonly full: boolean
}

/** The window of a pass starting at `now`: the whole lookback, or what completed since the watermark. */
export function passWindow (wholeWindow: boolean, mark: Watermark | undefined, now: number, lookbackMs: number): PassWindow {
  const earliest = now - lookbackMs
  // the API's dates are whole seconds: the end is rounded up so that nothing completed by now is left out
  const to = Math.ceil(now / 1000) * 1000
  if (wholeWindow || mark === undefined || now - mark.fullAt >= FULL_PASS_EVERY_MS) return { from: earliest, to, full: true }
  return { from: Math.max(earliest, mark.since - OVERLAP_MS), to, full: false }
}

/** The stored watermark, or undefined for anything else (absent, or written by another version). */
export function parseWatermark (text: string | undefined): Watermark | undefined {
  if (text === undefined) return undefined
  try {
    const { since, fullAt } = JSON.parse(text) as { since?: unknown, fullAt?: unknown }
    return typeof since === 'number' && typeof fullAt === 'number' ? { since, fullAt } : undefined
  } catch {
    return undefined
  }
}
