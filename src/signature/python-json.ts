/**
 * JSON written the way Python's `json.dumps(payload, sort_keys=True)` writes it, the serialisation super.AI's
 * page "Webhooks, Static IPs, and ECDSA" signs: the keys of every object sorted by code point, `", "` and
 * `": "` between items (or `","` and `":"`, the compact form), and every character outside printable ASCII
 * escaped as `\uXXXX` in lower-case hex (an astral character as its surrogate pair), as `ensure_ascii` does.
 *
 * Two entry points: `pythonJson` writes a JavaScript value (what the signer sends), `pythonJsonFormsOfText`
 * re-writes a JSON text keeping each number exactly as it was written (what the verifier checks), because
 * Python's numbers are its own `repr` (`1.0`, `1e-07`, integers of any size) and a round trip through a
 * JavaScript number would change them.
 */

/** The separators of `json.dumps`: its default (`", "`, `": "`) or the compact pair (`","`, `":"`). */
export type PythonJsonSpacing = 'spaced' | 'compact'

/** Nesting deeper than this is refused: Python's own encoder stops near its recursion limit of 1000. */
export const MAX_DEPTH = 1000

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t'
}

// everything `ensure_ascii` escapes: outside `' '`..`'~'`, and the quote and the backslash
const ESCAPED = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g

// UTF-16 code units are exactly Python's escapes: an astral character is already its surrogate pair
const escapeUnit = (char: string): string => SHORT_ESCAPES[char.charCodeAt(0)] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`

/** A string as `json.dumps` writes it with `ensure_ascii=True`: only `' '`..`'~'` stay as they are. */
export function pythonString (value: string): string {
  return `"${value.replace(ESCAPED, escapeUnit)}"`
}

// a JSON string token with no escape and nothing to escape is already written as Python writes it
const PLAIN_TOKEN = /^"[\x20\x21\x23-\x5b\x5d-\x7e]*"$/

/** A JSON string token, decoded and written as Python writes it. */
function rewriteToken (token: string): { readonly value: string, readonly written: string } {
  if (PLAIN_TOKEN.test(token)) return { value: token.slice(1, -1), written: token }
  const value = JSON.parse(token) as string
  return { value, written: pythonString(value) }
}

/** Python sorts `str` keys by code point; UTF-16 order differs where an astral character meets U+E000..U+FFFF. */
export function compareCodePoints (a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    return codePointRank(x) - codePointRank(y)
  }
  return a.length - b.length
}

/** Surrogates (astral characters) rank above U+E000..U+FFFF, as their code points do. */
function codePointRank (unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000
  if (unit >= 0xe000) return unit - 0x800
  return unit
}

/**
 * A JavaScript number as Python would have written it. An integral value is written as Python writes an
 * `int` (all its digits); any other as `repr(float)`: the same shortest digits JavaScript finds, in
 * exponent form below 1e-4 with a two-digit exponent (`1e-07`, where JavaScript writes `1e-7`). JavaScript
 * cannot tell `1.0` from `1`: a float with no fraction is written `1`, where Python wrote `1.0`.
 */
export function pythonNumber (value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`${String(value)} is not a JSON number`)
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? String(value === 0 ? 0 : value) : BigInt(value).toString()
  if (Math.abs(value) >= 1e-4) return String(value)
  return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2')
}

/**
 * A JavaScript value (what `JSON.stringify` accepts) written as `json.dumps(value, sort_keys=True)` would
 * write it. As `JSON.stringify` does: `toJSON` is called, `undefined` and functions are left out of objects
 * and are `null` in arrays. A `bigint` is written as a Python `int`. Non-finite numbers, cycles and nesting
 * deeper than `MAX_DEPTH` throw a `TypeError`.
 */
export function pythonJson (value: unknown, spacing: PythonJsonSpacing = 'spaced'): string {
  const out = write(value, spacing === 'spaced' ? ', ' : ',', spacing === 'spaced' ? ': ' : ':', [])
  if (out === undefined) throw new TypeError(`a ${typeof value} is not JSON`)
  return out
}

function write (value: unknown, comma: string, colon: string, parents: unknown[]): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON()
  }
  switch (typeof value) {
    case 'string': return pythonString(value)
    case 'number': return pythonNumber(value)
    case 'boolean': return value ? 'true' : 'false'
    case 'bigint': return value.toString()
    case 'undefined': case 'function': case 'symbol': return undefined
  }
  if (value === null) return 'null'
  if (parents.includes(value)) throw new TypeError('a cyclic structure is not JSON')
  if (parents.length >= MAX_DEPTH) throw new TypeError(`JSON nested deeper than ${MAX_DEPTH} levels`)
  parents.push(value)
  let out: string
  if (Array.isArray(value)) {
    out = `[${value.map((item: unknown) => write(item, comma, colon, parents) ?? 'null').join(comma)}]`
  } else {
    const items: string[] = []
    for (const key of Object.keys(value as object).sort(compareCodePoints)) {
      const written = write((value as Record<string, unknown>)[key], comma, colon, parents)
      if (written !== undefined) items.push(`${pythonString(key)}${colon}${written}`)
    }
    out = `{${items.join(comma)}}`
  }
  parents.pop()
  return out
}

/**
 * A parsed JSON text, its leaves already written: numbers, `true`, `false` and `null` as the text had them,
 * strings as Python writes them; each object key with its written form.
 */
type Node = string | readonly Node[] | ReadonlyMap<string, readonly [written: string, value: Node]>

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y // eslint-disable-line no-control-regex
const WORD = /true|false|null/y
const SPACE = /[ \t\n\r]*/y

/**
 * A JSON text re-written as `json.dumps(json.loads(text), sort_keys=True)` would write it, in both
 * spacings, except that each number keeps the exact text it had (Python's `repr` of the number, when
 * super.AI wrote it). A key given twice keeps its last value, as both `json.loads` and `JSON.parse` do.
 * Returns `undefined` for a text that is not JSON or is nested deeper than `MAX_DEPTH`; the work is linear
 * in the text (plus the sorting). Parsed once, written twice: the verifier tries both.
 */
export function pythonJsonFormsOfText (text: string): readonly [spaced: string, compact: string] | undefined {
  const node = parseText(text)
  if (node === undefined) return undefined
  return [writeNode(node, ', ', ': '), writeNode(node, ',', ':')]
}

function parseText (text: string): Node | undefined {
  let at = 0
  const match = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = at
    const found = pattern.exec(text)
    if (found === null) return undefined
    at = pattern.lastIndex
    return found[0]
  }
  const skipSpace = (): void => { match(SPACE) }
  const value = (depth: number): Node | undefined => {
    skipSpace()
    const char = text[at]
    if (char === '"') {
      const token = match(STRING)
      return token === undefined ? undefined : rewriteToken(token).written
    }
    if (char === '{' || char === '[') {
      if (depth >= MAX_DEPTH) return undefined
      at++
      return char === '{' ? object(depth + 1) : array(depth + 1)
    }
    return match(NUMBER) ?? match(WORD)
  }
  const array = (depth: number): Node | undefined => {
    const items: Node[] = []
    skipSpace()
    if (text[at] === ']') { at++; return items }
    for (;;) {
      const item = value(depth)
      if (item === undefined) return undefined
      items.push(item)
      skipSpace()
      const next = text[at++]
      if (next === ']') return items
      if (next !== ',') return undefined
    }
  }
  const object = (depth: number): Node | undefined => {
    const entries = new Map<string, readonly [string, Node]>()
    skipSpace()
    if (text[at] === '}') { at++; return entries }
    for (;;) {
      skipSpace()
      const token = match(STRING)
      if (token === undefined) return undefined
      skipSpace()
      if (text[at++] !== ':') return undefined
      const item = value(depth)
      if (item === undefined) return undefined
      const { value: key, written } = rewriteToken(token)
      entries.set(key, [written, item])
      skipSpace()
      const next = text[at++]
      if (next === '}') return entries
      if (next !== ',') return undefined
    }
  }
  const root = value(0)
  skipSpace()
  return root === undefined || at !== text.length ? undefined : root
}

function writeNode (node: Node, comma: string, colon: string): string {
  if (typeof node === 'string') return node
  if (Array.isArray(node)) return `[${node.map((item: Node) => writeNode(item, comma, colon)).join(comma)}]`
  const entries = node as ReadonlyMap<string, readonly [string, Node]>
  const keys = [...entries.keys()].sort(compareCodePoints)
  return `{${keys.map((key) => {
    const [written, value] = entries.get(key) as readonly [string, Node]
    return `${written}${colon}${writeNode(value, comma, colon)}`
  }).join(comma)}}`
}
