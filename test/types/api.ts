/** The `api` option: `app.superai.api`, and `verify`/`reconcile` that take their key from it. */
import Fastify from 'fastify'
import superaiCallbacks, { createSuperaiWorker, type SuperaiApiOptions, type SuperaiClient } from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const app = Fastify()
await app.register(superaiCallbacks, {
  api: { apiKey: 'k', baseUrl: 'https://api.prod-eu.super.ai/v1', timeout: 10_000 },
  verify: true,
  reconcile: { appIds: ['app'] }
})
assertType<Equal<typeof app.superai.api, SuperaiClient>>()
await app.register(superaiCallbacks, { api: { apiKey: 'k' }, verify: { appIds: ['app'] } })
// @ts-expect-error api needs its apiKey
export const noKey: SuperaiApiOptions = { baseUrl: 'https://api.super.ai/v1' }
// @ts-expect-error unknown api options do not compile
await app.register(superaiCallbacks, { api: { apiKey: 'k', retries: 3 } })
// @ts-expect-error verify is true or an object
await app.register(superaiCallbacks, { verify: false })

export const worker = await createSuperaiWorker({ redis: 'redis://127.0.0.1:6379', api: { apiKey: 'k' }, verify: true })
assertType<Equal<typeof worker.api, SuperaiClient>>()
