import { test } from 'tap'
import Fastify from 'fastify'
import superaiCallbacks, { codes, type SuperaiCallbacksOptions } from '../../src/index.js'
import { loadBullmq } from '../../src/queue/bullmq.js'
import { checkClusterPrefix, hasHashTag, resolveQueueOptions } from '../../src/queue/options.js'
import { REDIS_URL } from '../helpers/callbacks.js'

const invalid: Array<[string, unknown]> = [
  ['queue', 'yes'],
  ['queue', []],
  ['queue.name', { name: '' }],
  ['queue.name', { name: 'a:b' }],
  ['queue.prefix', { prefix: 7 }],
  ['queue.concurrency', { concurrency: -1 }],
  ['queue.concurrency', { concurrency: 1.5 }],
  ['queue.attempts', { attempts: 0 }],
  ['queue.backoff', { backoff: 'exponential' }],
  ['queue.backoff.type', { backoff: { type: 'linear', delay: 10 } }],
  ['queue.backoff.delay', { backoff: { type: 'fixed', delay: -5 } }],
  ['queue.backoff.jitter', { backoff: { type: 'fixed', delay: 5, jitter: 1 } }],
  ['queue.priority', { priority: 1 }]
]

for (const [option, queue] of invalid) {
  test(`register fails naming "${option}" for queue: ${JSON.stringify(queue)}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(superaiCallbacks, { redis: REDIS_URL, queue } as unknown as SuperaiCallbacksOptions).ready() },
      { code: 'FST_SUPERAI_INVALID_OPTION', message: new RegExp(`"${option.replace(/\./g, '\\.')}"`) })
  })
}

test('queue without redis fails register with a coded error', async (t) => {
  for (const options of [{ queue: true }, { queue: true, store: { claim: async () => ({ status: 'claimed' }), complete: async () => true, release: async () => true } }] as const) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(superaiCallbacks, options as SuperaiCallbacksOptions).ready() }, { code: 'FST_SUPERAI_INVALID_OPTION', message: /"queue".*redis/ })
    await app.close()
  }
})

test('defaults, and queue: true', async (t) => {
  t.same(resolveQueueOptions(true), { name: 'superai-callbacks', prefix: 'bull', concurrency: 10, attempts: 10, backoff: { type: 'exponential', delay: 1000 } })
  t.equal(resolveQueueOptions(undefined), undefined)
  t.equal(resolveQueueOptions({ concurrency: 0 })?.concurrency, 0)
})

test('without bullmq installed: a coded error saying how to install it', async (t) => {
  const error = await loadBullmq('bullmq-that-is-not-installed').catch((err: unknown) => err)
  t.ok(error instanceof codes.FST_SUPERAI_QUEUE_UNAVAILABLE)
  t.match(error, { code: 'FST_SUPERAI_QUEUE_UNAVAILABLE', message: /npm install bullmq.*not installed/ })
  t.ok(await loadBullmq(), 'the installed one loads')
})

test('on a Redis Cluster the prefix must hold a hash tag', async (t) => {
  t.throws(() => { checkClusterPrefix('bull', { isCluster: true }) }, { code: 'FST_SUPERAI_INVALID_OPTION', message: /"queue\.prefix".*\{bull\}/ })
  t.doesNotThrow(() => { checkClusterPrefix('{superai}', { isCluster: true }) })
  t.throws(() => { checkClusterPrefix('{}{superai}', { isCluster: true }) }, { code: 'FST_SUPERAI_INVALID_OPTION' }, 'an empty first tag: Redis hashes the whole key')
  t.doesNotThrow(() => { checkClusterPrefix('bull', { isCluster: false }) })
  t.doesNotThrow(() => { checkClusterPrefix('bull', {}) })
})

test('hasHashTag: whether every key under a prefix hashes to one Cluster slot', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['{superai}', true],
    ['{superai}:bull', true],
    ['bull:{q}:', true],
    ['{a}{b}', true],
    ['bull', false],
    ['', false],
    ['{}', false],
    ['{}{superai}', false], // the first "{" closes at once: the whole key is hashed
    ['superai}{', false],
    ['{superai', false]
  ]
  for (const [prefix, expected] of cases) t.equal(hasHashTag(prefix), expected, JSON.stringify(prefix))
})
