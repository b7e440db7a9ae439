import fc from 'fast-check'
import { test } from 'tap'
import { encodeJobId } from '../../src/queue/job-id.js'

const PLAIN = /^[A-Za-z0-9_-]$/

/**
 * The test's reading of an id, from the rules in job-id.ts (the package itself reads the key from
 * `job.data.key`): the key when the id holds all of it, undefined for a digest or an id of another kind.
 */
function decodeJobId (id: string | undefined): string | undefined {
  if (id === undefined) return undefined
  if (!id.startsWith('cb.') || id.includes('~~')) return undefined
  let key = ''
  const body = id.slice(3)
  for (let i = 0; i < body.length; i++) {
    const char = body.charAt(i)
    if (char === '.') {
      key += ':'
    } else if (char !== '~') {
      if (!PLAIN.test(char)) return undefined
      key += char
    } else {
      const wide = body.charAt(i + 1) === 'u'
      const digits = wide ? body.slice(i + 2, i + 6) : body.slice(i + 1, i + 3)
      if (!/^[0-9A-F]+$/.test(digits) || digits.length !== (wide ? 4 : 2)) return undefined
      key += String.fromCharCode(parseInt(digits, 16))
      i += wide ? 5 : 2
    }
  }
  return key
}

const UNRESERVED_ID = /^[A-Za-z0-9._~-]{1,100}$/
const integerLike = (id: string): boolean => `${parseInt(id, 10)}` === id

/** Any UTF-16 code unit, lone surrogates included: what an idempotencyKey function may return. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))
/** The characters keys really hold: separators, hash tags, escapes of the encoding itself. */
const keyish = fc.constantFrom(':', '/', '{', '}', ' ', '~', '.', '%', '-', '_', 'a', 'Z', '9', 'é', '😀', '~~', '%3A')
const keys = fc.oneof(
  fc.string({ unit: keyish, maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 256 }),
  fc.string({ unit: 'grapheme', maxLength: 128 }),
  fc.string({ unit: codeUnit, maxLength: 512 }),
  fc.tuple(fc.constantFrom('superai:callbacks:', '{superai}:', 'app/tenant 1:'), fc.string({ unit: 'grapheme-ascii', maxLength: 494 })).map(([prefix, rest]) => prefix + rest)
)

/** The key a job of this id carries: from the id when it holds it, else from the job's data. */
const keyOf = (id: string, data: { key: string }): string => decodeJobId(id) ?? data.key

test('any key up to 512 characters, any Unicode: an unreserved, non-integer-like id of at most 100 characters that gives the key back', async (t) => {
  fc.assert(fc.property(keys, (key) => {
    const id = encodeJobId(key)
    if (!UNRESERVED_ID.test(id)) throw new Error(`not unreserved or too long: ${id}`)
    if (integerLike(id)) throw new Error(`integer-like: ${id}`)
    if (keyOf(id, { key }) !== key) throw new Error('the key does not come back')
    if (encodeURIComponent(id) !== id) throw new Error('changed by URL encoding')
    const decoded = decodeJobId(id)
    // the id alone holds the key whenever it fits; only longer ones carry a digest
    if (decoded === undefined && !id.includes('~~')) throw new Error(`an id without a digest that does not decode: ${id}`)
    if (decoded !== undefined && decoded !== key) throw new Error(`decoded to another key: ${id}`)
  }), { numRuns: 1000 })
  t.pass('1000 keys')
})

test('distinct keys, distinct ids; the same key, the same id', async (t) => {
  fc.assert(fc.property(fc.uniqueArray(keys, { minLength: 2, maxLength: 20 }), (list) => {
    const ids = list.map(encodeJobId)
    if (new Set(ids).size !== list.length) throw new Error(`two keys share an id: ${JSON.stringify(list)}`)
    if (ids.some((id, i) => id !== encodeJobId(list[i] ?? ''))) throw new Error('not deterministic')
  }), { numRuns: 200 })
  t.equal(encodeJobId('a\uD800'), encodeJobId('a\uD800'))
  t.not(encodeJobId('x'.repeat(200) + '\uD800'), encodeJobId('x'.repeat(200) + '\uDBFF'), 'lone surrogates are told apart, even in the digest')
})

test('readable ids for the keys people meet', async (t) => {
  const digest = '9VkN3xQ2b8Zr0Ta-Lm_pQw'
  t.equal(encodeJobId(`superai:callbacks:${digest}`), `cb.superai.callbacks.${digest}`, 'the default key, 43 characters')
  t.equal(decodeJobId(`cb.superai.callbacks.${digest}`), `superai:callbacks:${digest}`)
  t.equal(encodeJobId('{superai}:callbacks:order/42 é'), 'cb.~7Bsuperai~7D.callbacks.order~2F42~20~E9', 'a Cluster hash tag, a slash, a space, non-ASCII')
  t.equal(encodeJobId('a.b~c'), 'cb.a~2Eb~7Ec', '"." and "~" are escaped, so that "." is always ":"')
  t.equal(encodeJobId('€'), 'cb.~u20AC')
  t.equal(encodeJobId(''), 'cb.')
  t.equal(encodeJobId('123'), 'cb.123', 'never integer-like')

  const long = `superai:callbacks:${'order/'.repeat(40)}`
  const id = encodeJobId(long)
  t.equal(id.length <= 100, true)
  t.match(id, /^cb\.superai\.callbacks\.order~2Forder~2F.*~~[A-Za-z0-9_-]{22}$/, 'a readable head, then a digest')
  t.equal(decodeJobId(id), undefined, 'the key of a long id is in the job data')
  const exact = `superai:callbacks:${'a'.repeat(79)}`
  t.equal(encodeJobId(exact).length, 100, '100 characters still hold the key')
  t.equal(decodeJobId(encodeJobId(exact)), exact)
  t.match(encodeJobId(exact + 'b'), /~~/, 'one more and the id carries a digest')
})

test('ids of another kind do not decode', async (t) => {
  for (const id of ['42', 'other', undefined, 'cb.~G1', 'cb.~u12', 'cb.a b', 'cb.~']) t.equal(decodeJobId(id), undefined, String(id))
})
