/**
 * Summarises V8 CPU profiles (`--cpu-prof`, e.g. from `npm run bench -- --profile`): self time by function
 * and by package, so that what limits a server shows at a glance.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/plugin-redis [--top=30]
 *
 * Given a directory, it reads the profile with the most samples in it: the server's main thread (tsx's
 * loader thread writes a small one beside it).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true })
const top = Number(values.top)

/** Where a frame comes from: this project's src/, a package in node_modules, Node itself, or V8. */
function owner (url: string): string {
  if (url === '') return '(V8 / native)'
  if (url.startsWith('node:')) return 'node:internal'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1] ?? url
  const local = /\/(src|bench|test)\/(.+)$/.exec(url)
  return local === null ? url : `${local[1]}/${local[2]}`
}

const pct = (t: number, total: number): string => `${(t / total * 100).toFixed(1).padStart(5)}%`

/** Microseconds sampled outside `(idle)`. */
function busy (profile: Profile): number {
  const idle = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id))
  return profile.samples.reduce((sum, id, i) => idle.has(id) ? sum : sum + (profile.timeDeltas[i] ?? 0), 0)
}

function load (path: string): { file: string, profile: Profile } {
  if (!statSync(path).isDirectory()) return { file: path, profile: JSON.parse(readFileSync(path, 'utf8')) as Profile }
  const profiles = readdirSync(path).filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ file: join(path, name), profile: JSON.parse(readFileSync(join(path, name), 'utf8')) as Profile }))
    .sort((a, b) => busy(b.profile) - busy(a.profile))
  const busiest = profiles[0]
  if (busiest === undefined) throw new Error(`no .cpuprofile in ${path}`)
  return busiest
}

for (const path of positionals) {
  const { file, profile } = load(path)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfById = new Map<number, number>()
  profile.samples.forEach((id, i) => { selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)) })

  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  /** The nearest frame, this one or a caller, that is this project's or a package's: who asked Node or V8 for the work. */
  const culprit = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame
      if (frame === undefined) break
      const who = owner(frame.url)
      if (frame.url !== '' && who !== 'node:internal') return `${who} ${frame.functionName === '' ? '(anonymous)' : frame.functionName}`
    }
    const frame = byId.get(id)?.callFrame
    return frame?.functionName.startsWith('(') === true ? frame.functionName : 'node:internal / native'
  }
  const byFunction = new Map<string, number>()
  const byOwner = new Map<string, number>()
  const byCulprit = new Map<string, number>()
  let total = 0
  let idle = 0
  for (const [id, time] of selfById) {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) continue
    if (frame.functionName === '(idle)') { idle += time; continue }
    total += time
    const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')}:${frame.lineNumber + 1}`
    const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${where}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + time)
    const who = frame.functionName.startsWith('(') ? frame.functionName : owner(frame.url)
    byOwner.set(who, (byOwner.get(who) ?? 0) + time)
    const blame = culprit(id)
    byCulprit.set(blame, (byCulprit.get(blame) ?? 0) + time)
  }
  process.stdout.write(`\n${file}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle\n\nby owner (self time):\n`)
  for (const [name, time] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`  ${pct(time, total)}  ${name}\n`)
  process.stdout.write(`\nby caller (self time of Node and V8 internals charged to the nearest project or package frame), top ${top}:\n`)
  for (const [name, time] of [...byCulprit].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, total)}  ${name}\n`)
  // inclusive time of this project's frames (src/ and bench/servers/): the cost of each step with everything it calls
  const inclusive = new Map<string, number>()
  profile.samples.forEach((sampleId, i) => {
    const seen = new Set<string>()
    for (let at: number | undefined = sampleId; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)?.callFrame
      if (frame === undefined) break
      const who = owner(frame.url)
      if (!who.startsWith('src/') && !who.startsWith('bench/')) continue
      const name = `${who} ${frame.functionName === '' ? '(anonymous)' : frame.functionName}`
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0))
    }
  })
  process.stdout.write(`\nproject frames, inclusive time (with everything they call, synchronously), top ${top}:\n`)
  for (const [name, time] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, total)}  ${name}\n`)
  process.stdout.write(`\nby function (self time), top ${top}:\n`)
  for (const [name, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${pct(time, total)}  ${name}\n`)
}
