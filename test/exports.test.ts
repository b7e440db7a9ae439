import { test } from 'tap'
import * as pkg from '../src/index.js'

test('the public runtime exports are exactly these', async (t) => {
  t.same(Object.keys(pkg).sort(), [
    'BATCH_STATES', 'BatchCallbackBodySchema', 'CallbackAcceptedSchema', 'CallbackBodySchema', 'CallbackQueuedSchema', 'CallbackRouteBodySchema',
    'DEFAULTS', 'DEFAULT_SUPERAI_BASE_URL', 'DELIVERY_CHANNEL', 'ENTITY_TYPES', 'EVENT_NAMES', 'ErrorReplySchema',
    'HANDLE_CHANNEL', 'JOB_ACTIONS', 'JOB_LIFECYCLE', 'JOB_STATES', 'MemoryStore', 'RedisStore', 'STATE_CHANGE_ACTION', 'SuperaiBatchSchema',
    'SuperaiCallbackSchema', 'SuperaiEntityCallbackSchema', 'SuperaiJobListSchema', 'SuperaiJobSchema', 'SuperaiSubmitJobsResultSchema',
    'batchIdempotencyKey', 'canonicalJson', 'checkCallbackUrl', 'codes', 'createSuperaiClient', 'createSuperaiWorker', 'default',
    'defaultIdempotencyKey', 'entityEventNameOf', 'eventNameOf', 'isEntityEvent', 'isSuperaiApiError', 'isValidCallbackUrl',
    'lifecyclePosition', 'methodName', 'signCallback', 'superaiCallbacks', 'validateCallbackUrl'
  ])
  t.equal(pkg.default, pkg.superaiCallbacks)
})

test('the plugin carries fastify-plugin metadata', async (t) => {
  const meta = (pkg.default as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.equal(meta?.name, 'fastify-superai-callbacks')
  t.equal(meta?.fastify, '5.x')
})

test('every error code is FST_SUPERAI_* and constructs a coded error', async (t) => {
  for (const [code, Ctor] of Object.entries(pkg.codes)) {
    t.match(code, /^FST_SUPERAI_[A-Z_]+$/)
    t.equal(new Ctor('a' as never, 1 as never).code, code)
  }
})
