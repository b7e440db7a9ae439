#!/usr/bin/env node
import { setMaxListeners } from 'node:events'
import { readFileSync } from 'node:fs'
import { EXIT } from './cli/args.js'
import { main } from './cli/main.js'

/** The `superai-callbacks` command; the work is in ./cli/, this file only binds it to the process. */

// Same relative path from src/ (tsx) and dist/ (built).
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

const controller = new AbortController()
// Every request in flight listens to it: with --concurrency 256 that is far more than the default 10.
setMaxListeners(Infinity, controller.signal)
// First Ctrl-C: send nothing new, let requests in flight finish, print the summary; a second one kills as usual.
process.once('SIGINT', () => { controller.abort() })
// A service manager's stop: the same orderly end (the sandbox closes and exits 0)
process.once('SIGTERM', () => { controller.abort() })

try {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
    signal: controller.signal
  }, version)
} catch (error) {
  process.stderr.write(`superai-callbacks: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exitCode = EXIT.INTERNAL
}
