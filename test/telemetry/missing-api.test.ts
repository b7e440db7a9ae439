import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'tap'
import { childEnv } from '../helpers/child-env.js'

const FIXTURE = fileURLToPath(new URL('../fixtures/no-otel-api.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

test('without @opentelemetry/api, telemetry: true fails register and createSuperaiWorker with the coded error, before connecting', async (t) => {
  // a process of its own: the module hook that hides the package cannot be undone in this one
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', FIXTURE], { cwd: ROOT, env: childEnv(), timeout: 30_000 })
  const [register, worker] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string>)
  t.equal(register?.register, 'FST_SUPERAI_TELEMETRY_UNAVAILABLE', 'not a Redis connection error: nothing was connected first')
  t.match(register?.message, /npm install @opentelemetry\/api/, 'the message says how to install it')
  t.equal(worker?.worker, 'FST_SUPERAI_TELEMETRY_UNAVAILABLE')
})
