/** Options: what cannot be combined does not compile; routeConfig is Fastify's route config, augmentations included. */
import Fastify from 'fastify'
import type { FastifyContextConfig, RouteShorthandOptions } from 'fastify'
import type {} from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import superaiCallbacks, { MemoryStore, codes, type SuperaiCallbacksOptions } from '../../src/index.js'
import { assertType, type Equal } from './assert.js'

const app = Fastify()
const store = new MemoryStore()
const redis = new Redis({ lazyConnect: true })

// each on its own, and every harmless combination
await app.register(superaiCallbacks)
await app.register(superaiCallbacks, { redis: 'redis://127.0.0.1:6379' })
await app.register(superaiCallbacks, { redis })
await app.register(superaiCallbacks, { redis: { host: '127.0.0.1', port: 6379 } })
await app.register(superaiCallbacks, { redis: { cluster: [{ host: '127.0.0.1', port: 7000 }], options: { scaleReads: 'master' } } })
await app.register(superaiCallbacks, { redis: { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' } })
await app.register(superaiCallbacks, { store })
await app.register(superaiCallbacks, { secret: 'a-secret-of-16-chars' })
await app.register(superaiCallbacks, { secret: ['a-secret-of-16-chars', 'an-older-secret-16'], secretIn: 'header' })
await app.register(superaiCallbacks, { store, secret: 'a-secret-of-16-chars', secretIn: 'query', prefix: '/hooks' })

// @ts-expect-error redis and store exclude each other
await app.register(superaiCallbacks, { redis: 'redis://127.0.0.1:6379', store })
// @ts-expect-error also in a typed variable
export const both: SuperaiCallbacksOptions = { redis, store }
// @ts-expect-error secretIn without secret has no effect
await app.register(superaiCallbacks, { secretIn: 'header' })
// @ts-expect-error secretIn takes only the three places a token travels
await app.register(superaiCallbacks, { secret: 'a-secret-of-16-chars', secretIn: 'cookie' })
// @ts-expect-error a Cluster node needs its port
await app.register(superaiCallbacks, { redis: { cluster: [{ host: '127.0.0.1' }] } })
// @ts-expect-error the Cluster's options are ioredis ClusterOptions
await app.register(superaiCallbacks, { redis: { cluster: [{ host: '127.0.0.1', port: 7000 }], options: { scaleReads: 'everywhere' } } })
// @ts-expect-error unknown options do not compile
await app.register(superaiCallbacks, { tll: 60 })

// routeConfig is what Fastify's route options take, so @fastify/rate-limit's augmentation reaches it
assertType<Equal<NonNullable<SuperaiCallbacksOptions['routeConfig']>, FastifyContextConfig>>()
assertType<Equal<NonNullable<SuperaiCallbacksOptions['routeConfig']>, NonNullable<RouteShorthandOptions['config']>>>()
await app.register(superaiCallbacks, { routeConfig: { rateLimit: { max: 600, timeWindow: '1 minute' } } })
await app.register(superaiCallbacks, { routeConfig: { rateLimit: false } })
// @ts-expect-error rate-limit's own options are checked
await app.register(superaiCallbacks, { routeConfig: { rateLimit: { max: 'many' } } })
// @ts-expect-error keys nobody declared into FastifyContextConfig do not compile
await app.register(superaiCallbacks, { routeConfig: { rateLimt: { max: 600 } } })

// the register-time errors are coded
assertType<Equal<InstanceType<typeof codes.FST_SUPERAI_ALREADY_REGISTERED>['code'], 'FST_SUPERAI_ALREADY_REGISTERED'>>()
assertType<Equal<InstanceType<typeof codes.FST_SUPERAI_INVALID_OPTION>['statusCode'], 500>>()
// @ts-expect-error the option error takes the option and the reason
export const missingReason = new codes.FST_SUPERAI_INVALID_OPTION('ttl')
