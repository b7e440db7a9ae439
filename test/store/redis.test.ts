import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { test, type Test } from 'tap'
import { Cluster, Redis } from 'ioredis'
import type { FastifyBaseLogger } from 'fastify'
import { RedisStore, type RedisStoreOptions } from '../../src/index.js'
import { connectRedis } from '../../src/store/connection.js'
import { CLIENT_DEFAULTS } from '../../src/store/redis-defaults.js'
import { REDIS_URL, deleteUnder, uniquePrefix } from '../helpers/callbacks.js'
import { freePort, startRedisServer } from '../helpers/redis-server.js'
import { startRedisCluster } from '../helpers/redis-cluster.js'
import { onPath, skipOrFail, testNeeding, type Requirement } from '../helpers/requirements.js'

const OPENSSL: Requirement = { what: 'openssl (a test certificate)', install: 'Debian\'s openssl (apt-get install openssl)', found: onPath('openssl') !== undefined }

const silent = { error () {}, warn () {}, info () {}, debug () {}, trace () {}, fatal () {}, child () { return silent } } as unknown as FastifyBaseLogger

/** A client as the plugin creates one, connected; its keys under `prefix` deleted and quit at teardown. */
async function pluginClient (t: Test, prefix: string, url = REDIS_URL): Promise<Redis> {
  const { client } = await connectRedis(url, {}, silent)
  const redis = client as Redis
  t.teardown(async () => {
    await deleteUnder(redis, prefix)
    await redis.quit()
  })
  return redis
}

/** Counts the commands a store sends, by name, without changing them. */
function countCommands (redis: Redis): Map<string, number> {
  const counts = new Map<string, number>()
  const send = redis.sendCommand
  redis.sendCommand = function (this: Redis, command, stream) {
    counts.set(command.name, (counts.get(command.name) ?? 0) + 1)
    return send.call(this, command, stream)
  }
  return counts
}

/** The lifecycle every deployment relies on, on keys spread over many hash slots. */
async function lifecycle (t: Test, store: RedisStore, prefix: string): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const key = `${prefix}${i}`
    t.same(await store.claim(key, 'a', 5000), { status: 'claimed' })
    const busy = await store.claim(key, 'b', 5000)
    t.ok(busy.status === 'inFlight' && busy.retryAfterMs > 4000, 'in flight with the remaining lease')
    t.equal(await store.complete(key, 'b', 5000), false, 'only the owner completes')
    t.equal(await store.release(key, 'b'), false, 'only the owner releases')
    if (i % 2 === 0) {
      t.equal(await store.complete(key, 'a', 5000), true)
      t.same(await store.claim(key, 'c', 5000), { status: 'processed' })
    } else {
      t.equal(await store.release(key, 'a'), true)
      t.same(await store.claim(key, 'c', 5000), { status: 'claimed' })
    }
  }
}

test('RedisStore.create claims with one native SET on Redis >= 7, and reads the lease only when in flight', async (t) => {
  const prefix = uniquePrefix('native-claim')
  const redis = await pluginClient(t, prefix)
  const store = await RedisStore.create(redis)
  const counts = countCommands(redis)
  t.same(await store.claim(`${prefix}k`, 'a', 5000), { status: 'claimed' })
  t.same(Object.fromEntries(counts), { set: 1 }, 'a new callback: one command')
  t.equal(await store.complete(`${prefix}k`, 'a', 5000), true)
  counts.clear()
  t.same(await store.claim(`${prefix}k`, 'b', 5000), { status: 'processed' })
  t.same(Object.fromEntries(counts), { set: 1 }, 'a duplicate: one command')
  await store.claim(`${prefix}busy`, 'a', 5000)
  counts.clear()
  const busy = await store.claim(`${prefix}busy`, 'b', 5000)
  t.equal(busy.status, 'inFlight')
  t.same(Object.fromEntries(counts), { set: 1, evalsha: 1 }, 'in flight: the script reads the lease')
})

test('the in-flight path decides again when the key changed after the native SET', async (t) => {
  const prefix = uniquePrefix('native-race')
  const redis = await pluginClient(t, prefix)
  const store = new RedisStore(redis, { nativeClaim: true })
  // the SET saw another delivery's token; by the time the script runs, that delivery has completed
  await redis.set(`${prefix}done`, '1', 'PX', 5000)
  const set = redis.set.bind(redis)
  redis.set = (async () => 'token-of-another-delivery') as unknown as typeof redis.set
  t.same(await store.claim(`${prefix}done`, 'b', 5000), { status: 'processed' }, 'not in flight for the ttl')
  // ... or has released it: this delivery gets the claim
  t.same(await store.claim(`${prefix}free`, 'b', 5000), { status: 'claimed' })
  redis.set = set
  t.equal(await redis.get(`${prefix}free`), 'b')
})

test('a server that refuses SET NX GET (before 7.0) turns the store to the script for good', async (t) => {
  const prefix = uniquePrefix('native-refused')
  const redis = await pluginClient(t, prefix)
  const store = new RedisStore(redis, { nativeClaim: true })
  const counts = countCommands(redis)
  const set = redis.set.bind(redis)
  redis.set = (async () => { throw new Error('ERR syntax error') }) as unknown as typeof redis.set
  t.same(await store.claim(`${prefix}a`, 't', 5000), { status: 'claimed' })
  redis.set = set
  t.same(await store.claim(`${prefix}b`, 't', 5000), { status: 'claimed' })
  t.same(Object.fromEntries(counts), { evalsha: 2 }, 'both claims by the script')
})

test('RedisStore.create on a client not yet connected takes the script, which every server runs', async (t) => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  t.teardown(() => { redis.disconnect() })
  const store = await RedisStore.create(redis)
  await redis.connect()
  const counts = countCommands(redis)
  const prefix = uniquePrefix('lazy-create')
  t.teardown(async () => { await deleteUnder(redis, prefix) })
  t.same(await store.claim(`${prefix}a`, 't', 5000), { status: 'claimed' })
  t.same([counts.get('set'), counts.get('evalsha')], [undefined, 1], 'the script, not SET')
})

test('scripts are sent by digest and loaded with EVAL when the server lacks them (restart, SCRIPT FLUSH)', async (t) => {
  // a private server: SCRIPT FLUSH must not touch the shared one
  const server = await startRedisServer(t.teardown.bind(t))
  const redis = new Redis(server.url)
  t.teardown(async () => { await redis.quit() })
  const store = new RedisStore(redis, { nativeClaim: true })
  const counts = countCommands(redis)
  await store.claim('k', 'a', 5000)
  await redis.script('FLUSH')
  counts.clear()
  t.equal(await store.complete('k', 'a', 5000), true)
  t.same(Object.fromEntries(counts), { evalsha: 1, eval: 1 }, 'NOSCRIPT, then EVAL')
  counts.clear()
  await store.claim('k2', 'a', 5000)
  t.equal(await store.release('k2', 'a'), true)
  await store.claim('k3', 'a', 5000)
  t.equal(await store.complete('k3', 'a', 5000), true)
  t.same(Object.fromEntries(counts), { set: 2, evalsha: 2, eval: 1 }, 'release loaded once, complete cached')
})

test('a created client is ioredis as shipped: no auto-pipelining, no command path of ours patched in', async (t) => {
  const prefix = uniquePrefix('plain')
  const redis = await pluginClient(t, prefix)
  t.equal(redis.options.enableAutoPipelining, false, 'no auto-pipelining on a created client')
  t.equal(redis.sendCommand, Redis.prototype.sendCommand, 'sendCommand is ioredis\' own')
  t.equal(redis.stream.writableCorked, 0)
  const replies = Array.from({ length: 20 }, (_, i) => redis.set(`${prefix}${i}`, String(i), 'PX', 5000))
  t.equal(redis.stream.writableCorked, 0, 'nothing corks the socket')
  t.same(await Promise.all(replies), Array(20).fill('OK'))
})

await testNeeding(OPENSSL, 'RedisStore over TLS (rediss://)', async (t) => {
  const tls = await tlsServer(t)
  if (typeof tls === 'string') {
    skipOrFail(t, tls)
    return
  }
  const { client } = await connectRedis(`rediss://127.0.0.1:${tls.port}`, { tls: { ca: tls.ca, servername: 'localhost' } }, silent)
  const redis = client as Redis
  t.teardown(async () => { await redis.quit() })
  const store = await RedisStore.create(redis)
  const replies = Array.from({ length: 10 }, (_, i) => store.claim(`tls:${i}`, 'a', 5000))
  const direct = redis.set('tls:direct', '1', 'PX', 5000)
  t.same(await Promise.all(replies), Array(10).fill({ status: 'claimed' }), 'the turn\'s claims, one batch call')
  t.equal(await direct, 'OK')
  await lifecycle(t, store, 'tls:life:')
})

test('both claims on a Redis Cluster (3 masters), and commands to every node in one turn', async (t) => {
  const { nodes: startup } = await startRedisCluster(t.teardown.bind(t))
  const cluster = new Cluster(startup.map(({ host, port }) => ({ host, port })), {
    enableAutoPipelining: false,
    enableOfflineQueue: false,
    lazyConnect: true,
    redisOptions: { ...CLIENT_DEFAULTS }
  })
  t.teardown(async () => { await cluster.quit() })
  await cluster.connect()
  const native = await RedisStore.create(cluster)
  const counts = new Map<string, number>()
  for (const node of cluster.nodes()) {
    const send = node.sendCommand
    node.sendCommand = function (this: Redis, command, stream) {
      counts.set(command.name, (counts.get(command.name) ?? 0) + 1)
      return send.call(this, command, stream)
    }
  }
  await lifecycle(t, native, 'cluster:native:')
  t.ok((counts.get('set') ?? 0) >= 12, 'native claims')
  await lifecycle(t, new RedisStore(cluster, { nativeClaim: false }), 'cluster:script:')

  const nodes = cluster.nodes('master')
  t.equal(nodes.length, 3)
  const replies = Array.from({ length: 30 }, (_, i) => cluster.set(`cluster:batch:${i}`, '1', 'PX', 5000))
  t.same(await Promise.all(replies), Array(30).fill('OK'))
})

/** A TLS-only redis-server with a fresh self-signed certificate; or what is missing to start one. */
async function tlsServer (t: Test): Promise<{ port: number, ca: Buffer } | string> {
  const dir = await mkdtemp(join(tmpdir(), 'superai-tls-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
  if (made.status !== 0) return `openssl could not make a certificate: ${made.stderr.toString().trim()}`
  const port = await freePort()
  const child = own(t, spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1',
    '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no',
    '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return 'needs a redis-server built with TLS, it refused --tls-port: install Debian\'s redis-server (apt-get install redis-server)'
    const probe = new Redis({ host: '127.0.0.1', port, tls: { ca: await readFile(cert), servername: 'localhost' }, lazyConnect: true, retryStrategy: () => null })
    probe.on('error', () => {})
    const up = await probe.connect().then(() => true, () => false)
    probe.disconnect()
    if (up) return { port, ca: await readFile(cert) }
    await sleep(50)
  }
  throw new Error('the TLS redis-server did not answer within 5 s')
}

/** Kills exactly this process at teardown, and waits for it. */
function own (t: Test, child: ChildProcess): ChildProcess {
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  })
  return child
}

test('its options are validated with the coded error naming the option', async (t) => {
  const client = new Redis(REDIS_URL, { lazyConnect: true })
  t.teardown(() => { client.disconnect() })
  const bad: Array<[unknown, RegExp]> = [
    [{ nativeClaim: 'yes' }, /"nativeClaim"/],
    [{ batch: 1 }, /"batch": expected a boolean, got 1/],
    [{ native: true }, /"native": unknown option/],
    [null, /"options"/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => new RedisStore(client, options as RedisStoreOptions), { code: 'FST_SUPERAI_INVALID_OPTION', message })
  }
})
