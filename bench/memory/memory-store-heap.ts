/**
 * The in-memory store's heap under a stream of deliveries: run with `node --expose-gc --import tsx`.
 * Each delivery is what the route does: the plugin's key for a fresh callback (prefix + uuid + digest), a
 * 16-character token, claim, complete. heapUsed is sampled after a full GC every `every` deliveries; one JSON line on stdout.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { MemoryStore, defaultIdempotencyKey, type SuperaiEvent } from '../../src/index.js'
import { DEFAULTS } from '../../src/options.js'

const deliveries = Number(process.env.DELIVERIES ?? 1_000_000)
const maxEntries = Number(process.env.MAX_ENTRIES ?? 100_000)
const every = Number(process.env.SAMPLE_EVERY ?? Math.max(1, Math.floor(deliveries / 20)))
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

function heapUsed (): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

const store = new MemoryStore({ maxEntries })
const leaseMs = DEFAULTS.lease * 1000
const ttlMs = DEFAULTS.ttl * 1000
const baseline = heapUsed()
const samples: Array<{ deliveries: number, size: number, heapUsed: number }> = [{ deliveries: 0, size: 0, heapUsed: baseline }]
const tokenSeed = randomBytes(12).toString('base64url')
const started = performance.now()

for (let i = 1; i <= deliveries; i++) {
  const event = { id: String(i), uuid: randomUUID(), state: 'COMPLETED', action: 'RESOLVED' } as SuperaiEvent
  const key = DEFAULTS.keyPrefix + defaultIdempotencyKey(event)
  // the route's tokens are 12 random bytes in base64url; one of the same length, minus the entropy, keeps this test CPU-light
  const token = (tokenSeed + i.toString(36)).slice(-16)
  const claimed = await store.claim(key, token, leaseMs)
  if (claimed.status === 'claimed') await store.complete(key, token, ttlMs)
  if (i % every === 0 || i === deliveries) samples.push({ deliveries: i, size: store.size, heapUsed: heapUsed() })
}

process.stdout.write(`${JSON.stringify({ deliveries, maxEntries, baseline, samples, seconds: (performance.now() - started) / 1000 })}\n`)
