import { main } from '../../src/cli/main.js'
import type { CliRun } from './receiver.js'

/**
 * Runs the CLI in this process, through the entry point's own dispatch (`main`), as `runCli` does in a
 * child: for commands whose test needs no signal or process exit, at a fraction of a child's start-up.
 */
export async function runCliHere (args: readonly string[]): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { out: (text) => { stdout += text }, err: (text) => { stderr += text }, signal: new AbortController().signal }, '0.0.0')
  return { code, signal: null, stdout, stderr }
}
