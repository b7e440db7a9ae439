import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { keySlot } from '../../src/store/key-slot.js'

test('the slot Redis Cluster computes: CRC16 of the key, or of its hash tag', async (t) => {
  // the reference value of Redis' cluster specification: CRC16("123456789") = 0x31C3
  t.equal(keySlot('123456789'), 0x31c3 & 0x3fff)
  t.equal(keySlot('foo'), 12182, 'CLUSTER KEYSLOT foo')
  t.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'), 'one tag, one slot')
  t.equal(keySlot('{user1000}.following'), keySlot('user1000'), 'the tag alone is hashed')
  t.equal(keySlot('foo{}{bar}'), keySlot('foo{}{bar}'.slice(0)), 'an empty first tag: the whole key')
  t.not(keySlot('foo{}{bar}'), keySlot('bar'))
  t.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'), 'from the first { to the next }')
  t.equal(keySlot('foo{bar}{zap}'), keySlot('bar'), 'the first tag only')
  t.equal(keySlot('é{'), keySlot('é{'), 'no closing brace: the whole key')
})

test('agrees with the slot ioredis routes by (its cluster-key-slot dependency) on random keys', async (t) => {
  const reference = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number
  const keys = Array.from({ length: 2000 }, (_, i) => `superai:callbacks:${i % 3 === 0 ? '{' : ''}${randomUUID()}${i % 5 === 0 ? '}é' : ''}:job`)
  t.ok(keys.every((key) => keySlot(key) === reference(key)))
})
