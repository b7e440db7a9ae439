import { readFile } from 'node:fs/promises'
import { test } from 'tap'
import { codes } from '../src/index.js'

/** Any of the constructors, called with placeholder arguments (their messages are not under test here). */
type AnyErrorConstructor = new (...args: unknown[]) => { readonly code: string, readonly statusCode?: number }
const constructors = codes as unknown as Readonly<Record<string, AnyErrorConstructor>>

/** The rows of docs/errors.md's table: code -> documented status. */
async function documentedCodes (): Promise<Map<string, number>> {
  const text = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8')
  const start = text.indexOf('<!-- errors-table:start -->')
  const end = text.indexOf('<!-- errors-table:end -->')
  if (start === -1 || end === -1) throw new Error('docs/errors.md lost its table markers')
  const rows = new Map<string, number>()
  for (const line of text.slice(start, end).split('\n')) {
    const match = /^\| `(FST_[A-Z_]+)` \| (\d{3}) \|/.exec(line)
    if (match?.[1] === undefined || match[2] === undefined) continue
    if (rows.has(match[1])) throw new Error(`${match[1]} is documented twice`)
    rows.set(match[1], Number(match[2]))
  }
  return rows
}

test('every exported code is documented in docs/errors.md', async (t) => {
  const documented = await documentedCodes()
  for (const code of Object.keys(codes)) t.ok(documented.has(code), `${code} is documented`)
})

test('every documented code is exported in codes', async (t) => {
  const documented = await documentedCodes()
  t.ok(documented.size > 0, 'the table was read')
  for (const code of documented.keys()) t.ok(Object.hasOwn(codes, code), `${code} is exported`)
})

test('each documented status is the statusCode of the code', async (t) => {
  const documented = await documentedCodes()
  for (const [code, status] of documented) {
    const Constructor = constructors[code]
    if (Constructor === undefined) continue
    const err = new Constructor('a', 'b')
    t.equal(err.code, code, `${code}: the constructor makes its own code`)
    t.equal(err.statusCode, status, `${code}: ${status}`)
  }
})

test('every code has the FST_SUPERAI_ prefix and its key is its code', async (t) => {
  for (const [name, Constructor] of Object.entries(constructors)) {
    t.match(name, /^FST_SUPERAI_[A-Z_]+$/)
    t.equal(new Constructor('a', 'b').code, name)
  }
})

/** Section name -> its codes in order, from `// Name: ...` comments (src/errors.ts) or `### Name` headings (docs). */
function sectionsOf (text: string, heading: RegExp): Array<[string, string[]]> {
  const sections: Array<[string, string[]]> = []
  for (const line of text.split('\n')) {
    const title = heading.exec(line)?.[1]
    if (title !== undefined) { sections.push([title, []]); continue }
    const code = /^\s*(?:\| `)?(FST_SUPERAI_[A-Z_]+)(?:`|: createError)/.exec(line)?.[1]
    if (code !== undefined) sections.at(-1)?.[1].push(code)
  }
  return sections
}

test('docs/errors.md has the sections of src/errors.ts, with the same codes in the same order', async (t) => {
  const source = await readFile(new URL('../src/errors.ts', import.meta.url), 'utf8')
  const docs = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8')
  const inSource = sectionsOf(source.slice(source.indexOf('export const codes')), /^ {2}\/\/ ([^:]+)/)
  const inDocs = sectionsOf(docs.slice(docs.indexOf('<!-- errors-table:start -->'), docs.indexOf('<!-- errors-table:end -->')), /^### (.+)$/)
  t.ok(inSource.length > 1, 'the catalogue is in sections')
  t.same(inDocs, inSource)
  t.same(inSource.flatMap(([, list]) => list), Object.keys(codes), 'every code in a section, in the order of codes')
})
