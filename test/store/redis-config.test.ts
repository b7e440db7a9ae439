import { test } from 'tap'
import { resolveOptions } from '../../src/options.js'

test('Cluster and Sentinel configurations resolve to their own store choices, copied', async (t) => {
  const nodes = [{ host: '127.0.0.1', port: 7000 }]
  const cluster = resolveOptions({ redis: { cluster: nodes, options: { scaleReads: 'master' } } }).store
  t.equal(cluster.kind, 'redis-cluster')
  t.ok(cluster.kind === 'redis-cluster' && cluster.config.cluster !== nodes && cluster.config.options?.scaleReads === 'master')
  const sentinel = resolveOptions({ redis: { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster' } }).store
  t.equal(sentinel.kind, 'redis-sentinel')
  t.equal(resolveOptions({ redis: { host: '127.0.0.1' } }).store.kind, 'redis-config')
})
