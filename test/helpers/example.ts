import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'
import { freePort } from './redis-server.js'
import { childEnv } from './child-env.js'

/** Starts an example as a user would (tsx), on a free port; resolves with its stdout so far once it listens. */
export async function runExample (t: Test, file: string, ready: RegExp, env: Record<string, string> = {}): Promise<{ port: number, output: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', file], { env: childEnv({ ...env, PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const deadline = Date.now() + 20_000
  while (!ready.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`example did not start:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port, output: () => output }
}
