import { test } from 'tap'
import { CLIENT_DEFAULTS, CLUSTER_DEFAULTS, clusterSettings } from '../../src/store/redis-defaults.js'

test('a Cluster of ours fails fast like a single client; the user\'s options win', async (t) => {
  const defaults = clusterSettings()
  t.equal(defaults.enableOfflineQueue, false, 'no offline queue: a command while the cluster is down fails at once')
  t.equal(defaults.lazyConnect, true, 'connected by the plugin before register resolves')
  t.match(defaults.redisOptions, {
    maxRetriesPerRequest: CLIENT_DEFAULTS.maxRetriesPerRequest,
    commandTimeout: CLIENT_DEFAULTS.commandTimeout,
    connectTimeout: CLIENT_DEFAULTS.connectTimeout
  }, 'each node with the single-client timeouts')
  t.equal(typeof defaults.clusterRetryStrategy, 'function')
  t.equal(CLUSTER_DEFAULTS.clusterRetryStrategy?.(100, new Error('down')), 2000, 'reconnects are bounded to 2 s apart')

  const mine = clusterSettings({ enableOfflineQueue: true, redisOptions: { commandTimeout: 500, password: 'p' } })
  t.equal(mine.enableOfflineQueue, true)
  t.match(mine.redisOptions, { commandTimeout: 500, password: 'p', maxRetriesPerRequest: CLIENT_DEFAULTS.maxRetriesPerRequest })
})
