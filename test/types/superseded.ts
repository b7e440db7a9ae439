/** Superseded state changes: the context fields on every context type, the option, and a store that keeps marks. */
import Fastify from 'fastify'
import superaiCallbacks, {
  createSuperaiWorker, type HandlerContext, type IdempotencyStore, type JobState, type MarkedClaimResult, type StateRecord, type SuperaiStats
} from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const app = Fastify()
await app.register(superaiCallbacks, { superseded: 'skip' })
await app.register(superaiCallbacks, { superseded: 'dispatch' })
// @ts-expect-error only 'dispatch' or 'skip'
await app.register(superaiCallbacks, { superseded: 'drop' })
await createSuperaiWorker({ redis: 'redis://127.0.0.1:6379', superseded: 'skip' })

app.superai.onJobCompleted((_event, context) => {
  assertType<Equal<typeof context.superseded, boolean>>()
  assertType<Equal<typeof context.latestState, JobState | undefined>>()
  // on every context type, whatever its source
  if (context.source === 'queue') assertType<Equal<typeof context.superseded, boolean>>()
  if (context.source === 'reconcile') assertType<Equal<typeof context.latestState, JobState | undefined>>()
})
assertType<Equal<HandlerContext['superseded'], boolean>>()
assertType<Equal<SuperaiStats['superseded'], number>>()

// a store of one's own: the marks are optional, and typed when given
const minimal: IdempotencyStore = {
  claim: async () => ({ status: 'claimed' }),
  complete: async () => true,
  release: async () => true
}
const marking: IdempotencyStore = {
  ...minimal,
  claimAndRead: async (_key, _token, _leaseMs, query): Promise<MarkedClaimResult> => ({ status: 'claimed', marks: query.stateBits.length }),
  completeAndMark: async (_key, _token, _ttlMs, record) => 'stateKey' in record ? record.stateKey.length > 0 : record.mark >= 0
}
// @ts-expect-error a record is a state key or a marks key with its mark, not both halves
export const halfRecord: StateRecord = { marksKey: 'k' }
// @ts-expect-error a claim that read the marks says what they are
export const noMarks: MarkedClaimResult = { status: 'claimed' }
export { marking }
