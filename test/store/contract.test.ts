import { test } from 'tap'
import { Redis } from 'ioredis'
import { MemoryStore, RedisStore } from '../../src/index.js'
import { CLIENT_DEFAULTS } from '../../src/store/redis-defaults.js'
import { REDIS_URL, deleteUnder, testRedis, uniquePrefix } from '../helpers/callbacks.js'
import { storeContract } from '../helpers/store-contract.js'

test('memory: store contract', async (t) => {
  storeContract(t, new MemoryStore(), uniquePrefix('contract-memory'))
})

test('redis-script: store contract (the Lua claim, as on a server before 7.0, over a default ioredis client)', async (t) => {
  const prefix = uniquePrefix('contract-redis-script')
  const redis = testRedis()
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  storeContract(t, new RedisStore(redis, { nativeClaim: false }), prefix)
})

test('redis-native: store contract (SET NX GET, over a client made as the plugin makes its own)', async (t) => {
  const prefix = uniquePrefix('contract-redis-native')
  const redis = new Redis(REDIS_URL, { ...CLIENT_DEFAULTS, lazyConnect: true })
  await redis.connect()
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  storeContract(t, new RedisStore(redis, { nativeClaim: true }), prefix)
})
