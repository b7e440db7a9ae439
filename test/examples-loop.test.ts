import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'tap'
import { childEnv } from './helpers/child-env.js'
import { REDIS_URL } from './helpers/callbacks.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** `npm run example:loop` as the README shows it; resolves with its output. */
async function loop (...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('npm', ['run', '-s', 'example:loop', '--', ...args], { cwd: ROOT, env: childEnv({ REDIS_URL }), timeout: 90_000 })
  return stdout + stderr
}

const count = (output: string, pattern: RegExp): number[] => (pattern.exec(output) ?? []).slice(1).map(Number)

test('npm run example:loop: callbacks received and deduplicated, a dropped one found by reconciliation', async (t) => {
  const output = await loop()
  t.match(output, /^sandbox: http:\/\/127\.0\.0\.1:\d+\/v1 \(API-KEY sandbox-\S+, seed loop\)$/m)
  const [deliveries = 0, copies = 0, dropped = 0, tries = 0] = count(output, /sandbox: (\d+) deliveries \((\d+) of them duplicates\), (\d+) dropped after (\d+) tries/)
  const [processed = 0, duplicates = 0] = count(output, /receiver: \d+ received, (\d+) processed, (\d+) duplicates/)
  t.equal(dropped, 1, 'one callback dropped while the receiver was down')
  t.equal(tries, 3)
  t.ok(copies > 0, 'some callbacks came twice')
  t.equal(processed, deliveries - copies - dropped, 'each delivered callback processed once')
  t.equal(duplicates, copies, 'every second copy answered as a duplicate')
  t.equal([...output.matchAll(/receiver: handler ran for job \S+ COMPLETED$/gm)].length, 3, 'the handlers ran once per job')
  const missed = /dropped after 3 tries: job (\S+)/.exec(output)?.[1]
  t.match(output, new RegExp(`receiver: handler ran for job ${String(missed)} COMPLETED \\(reconciled, source reconcile\\)`))
  t.match(output, /reconciliation: listed 4, dispatched 1 \(the missed callback\), duplicate 3, failed 0/)
  t.match(output, /^receiver: typed events job\.accepted, job\.declined, job\.edited, job\.tagAdded, job\.tagRemoved$/m, 'tags and reviews through the API, each typed event once')
  t.match(output, /its output is now \{"total":42\}/, 'the edited output is served')
  t.notMatch(output, /"level":50|error/i, 'nothing logged as an error')
})

test('npm run example:loop -- --sign: every callback signed and verified', async (t) => {
  const output = await loop('--sign')
  const [signed = 0, total = -1, refused = -1] = count(output, /signed: (\d+) of (\d+) deliveries carried X-SuperAI-Webhook-Signature, (\d+) refused/)
  t.equal(signed, total)
  t.ok(total > 0)
  t.equal(refused, 0, 'the receiver verified every one')
  t.match(output, /reconciliation: listed 4, dispatched 1/)
})
