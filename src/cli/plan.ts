import type { BatchState, JobAction, JobState } from '../events.js'
import { createRandom, type Random } from '../sandbox/prng.js'

/**
 * The stream `simulate` sends, computed up front from the seed so that a run can be replayed exactly:
 * jobs walk through plausible lifecycles, and a share of their callbacks is delivered again the ways
 * at-least-once delivery does (at the same moment, shortly after, or late).
 */

/** A callback body as super.AI sends it, with the extra job details it may carry. */
interface SimulatedJobBody {
  readonly id: string
  readonly uuid: string
  readonly state: JobState | (string & Record<never, never>)
  readonly action: JobAction | (string & Record<never, never>)
  readonly postProcessingEnabled: 'true' | 'false'
  readonly [extra: string]: unknown
}

/** A v2 callback about a job batch, as super.AI sends it ("Job batch callbacks"). */
interface SimulatedBatchBody {
  readonly version: '2'
  readonly entityType: 'batch'
  readonly entityId: string
  readonly state: BatchState
  readonly appId: string
  readonly [extra: string]: unknown
}

export type SimulatedCallback = {
  /** Position in `plan.callbacks`; results are tallied per callback. */
  readonly index: number
} & (
  | { readonly kind: 'job', readonly job: number, readonly body: SimulatedJobBody }
  | { readonly kind: 'batch', readonly batch: number, readonly body: SimulatedBatchBody }
)

/** `concurrent`: sent at the same moment as the original; `redelivery`: shortly after; `late`: well after. */
type DeliveryKind = 'original' | 'concurrent' | 'redelivery' | 'late'

interface PlannedItem {
  readonly callback: number
  /** Deliveries of the callback sent at once (more than 1 only for concurrent duplicates). */
  readonly copies: number
  readonly kind: DeliveryKind
  /** Position on the simulated timeline; items are sorted by it. */
  readonly at: number
}

export interface SimulationPlan {
  readonly appId: string
  readonly callbacks: readonly SimulatedCallback[]
  readonly items: readonly PlannedItem[]
  /** Total deliveries: the sum of every item's copies. */
  readonly deliveries: number
}

interface PlanOptions {
  readonly jobs: number
  /** Job batches whose v2 callback is mixed into the stream (default 0). */
  readonly batches?: number
  /** Share of callbacks delivered more than once, 0..1. */
  readonly duplicates: number
  readonly seed: number | string
}

type Step = readonly [JobState, JobAction]

/** Lifecycles with rough weights: most jobs simply complete, some post-process, fail or get reviewed. */
const LIFECYCLES: ReadonlyArray<readonly [{ readonly steps: readonly Step[], readonly postProcessing: boolean }, number]> = [
  [{ steps: [['COMPLETED', 'RESOLVED']], postProcessing: false }, 50],
  [{ steps: [['COMPLETED', 'RESOLVED'], ['POST PROCESSING', 'RESOLVED'], ['POST PROCESSED', 'RESOLVED']], postProcessing: true }, 12],
  [{ steps: [['COMPLETED', 'RESOLVED'], ['POST PROCESSING', 'RESOLVED'], ['NEEDS REVIEW', 'RESOLVED'], ['REVIEWED', 'RESOLVED']], postProcessing: true }, 6],
  [{ steps: [['SUSPENDED', 'RESOLVED'], ['COMPLETED', 'RESOLVED']], postProcessing: false }, 6],
  [{ steps: [['FAILED', 'RESOLVED']], postProcessing: false }, 10],
  [{ steps: [['CANCELED', 'RESOLVED']], postProcessing: false }, 5],
  [{ steps: [['SUSPENDED', 'RESOLVED'], ['EXPIRED', 'RESOLVED']], postProcessing: false }, 3],
  [{ steps: [['EXPIRED', 'RESOLVED']], postProcessing: false }, 3]
]

/** What people do to a finished job: edit it, tag it, mark it correct or incorrect. */
const FOLLOW_UPS: ReadonlyArray<readonly [JobAction, number]> = [
  ['EDITED', 4], ['TAG ADDED', 3], ['TAG REMOVED', 1], ['ACCEPTED', 3], ['DECLINED', 1]
]
const FINISHED: ReadonlySet<JobState> = new Set(['COMPLETED', 'POST PROCESSED', 'REVIEWED'])

/** How ingesting a batch ends: mostly in full, now and then partly or not at all. */
const BATCH_OUTCOMES: ReadonlyArray<readonly [BatchState, number]> = [['COMPLETED', 8], ['PARTIAL_FAILURE', 2], ['FAILED', 1]]

const REDELIVERY_KINDS: ReadonlyArray<readonly [Exclude<DeliveryKind, 'original'>, number]> = [
  ['concurrent', 4], ['redelivery', 3], ['late', 3]
]

/** Jobs start within this window of the timeline; their steps follow seconds to minutes apart. */
const START = Date.UTC(2025, 0, 1)

export function planSimulation ({ jobs, batches = 0, duplicates, seed }: PlanOptions): SimulationPlan {
  const random = createRandom(seed)
  const appId = random.uuid()
  const callbacks: SimulatedCallback[] = []
  const items: PlannedItem[] = []
  const span = jobs * 1000

  for (let job = 0; job < jobs; job++) {
    const uuid = random.uuid()
    const id = String(1_000_000 + job)
    const { steps, postProcessing } = random.weighted(LIFECYCLES)
    let at = random.int(0, span)
    let tags = 0
    const lifecycle: Step[] = [...steps]
    const last = steps[steps.length - 1]
    if (last !== undefined && FINISHED.has(last[0]) && random.chance(0.25)) {
      for (let n = random.int(1, 2); n > 0; n--) lifecycle.push([last[0], random.weighted(FOLLOW_UPS)])
    }

    for (const [state, action] of lifecycle) {
      at += random.int(200, 4000)
      const body: SimulatedJobBody = {
        id,
        uuid,
        state,
        action,
        postProcessingEnabled: postProcessing ? 'true' : 'false',
        appId,
        // Distinct callbacks of one job differ at least by when they were sent, as real ones do.
        modifiedAt: new Date(START + at).toISOString(),
        ...(action === 'TAG ADDED' || action === 'TAG REMOVED' ? { tag: `tag-${++tags}` } : {})
      }
      const index = callbacks.length
      callbacks.push({ index, kind: 'job', job, body })
      planDeliveries(random, items, index, at, duplicates, span)
    }
  }
  // after the jobs, so that a seed without batches plans the stream it always did
  for (let batch = 0; batch < batches; batch++) {
    const at = random.int(0, span)
    const body: SimulatedBatchBody = { version: '2', entityType: 'batch', entityId: random.uuid(), state: random.weighted(BATCH_OUTCOMES), appId }
    const index = callbacks.length
    callbacks.push({ index, kind: 'batch', batch, body })
    planDeliveries(random, items, index, at, duplicates, span)
  }

  items.sort((x, y) => x.at - y.at || x.callback - y.callback)
  return { appId, callbacks, items, deliveries: items.reduce((sum, item) => sum + item.copies, 0) }
}

function planDeliveries (random: Random, items: PlannedItem[], callback: number, at: number, share: number, span: number): void {
  if (!random.chance(share)) {
    items.push({ callback, copies: 1, kind: 'original', at })
    return
  }
  // Now and then a callback is delivered three times rather than twice.
  const extra = random.chance(0.15) ? 2 : 1
  const kind = random.weighted(REDELIVERY_KINDS)
  if (kind === 'concurrent') {
    items.push({ callback, copies: 1 + extra, kind, at })
    return
  }
  items.push({ callback, copies: 1, kind: 'original', at })
  for (let n = 0; n < extra; n++) {
    const delay = kind === 'redelivery' ? random.int(1, 50) : random.int(span / 4, span / 2)
    items.push({ callback, copies: 1, kind, at: at + delay })
  }
}
