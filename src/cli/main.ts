import { CHECK_URL_HELP, checkUrl } from './check-url.js'
import { DEAD_LETTERS_HELP, deadLetters } from './dead-letters.js'
import { EXIT, UsageError } from './args.js'
import { printJson, type CliIo } from './io.js'
import { RECONCILE_HELP, reconcile } from './reconcile.js'
import { SANDBOX_HELP, sandbox } from './sandbox.js'
import { SEND_HELP, send } from './send.js'
import { SIMULATE_HELP, simulate } from './simulate.js'

/** The commands, with the help shown for `<command> --help` and after a usage error. */
const COMMANDS = {
  send: { run: send, help: SEND_HELP },
  simulate: { run: simulate, help: SIMULATE_HELP },
  'check-url': { run: checkUrl, help: CHECK_URL_HELP },
  'dead-letters': { run: deadLetters, help: DEAD_LETTERS_HELP },
  reconcile: { run: reconcile, help: RECONCILE_HELP },
  sandbox: { run: sandbox, help: SANDBOX_HELP }
} as const satisfies Record<string, { run: (args: readonly string[], io: CliIo) => Promise<number>, help: string }>

type CommandName = keyof typeof COMMANDS
const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name)

const MAIN_HELP = `Usage: superai-callbacks <command> [options]

Deliver super.AI job callbacks to your own receiver, the way super.AI does (at least once).

Commands:
  send <url>         Send one callback, --repeat N times
  simulate <url>     Send a realistic, seeded stream of callbacks with redeliveries, and summarise
  check-url <url>    Check a callback URL against super.AI's rules; --probe POSTs a test callback
  dead-letters list|replay --redis <url>
                     Queue mode: show, or run again, the callbacks whose handlers failed on every try
  reconcile <url> --api-key K --app A
                     After an outage: deliver the state of every job completed within --since
                     (missed callbacks are processed, the others are duplicates)
  sandbox            A local super.AI: its API on 127.0.0.1 and its callbacks, with no account
  help [command]     Show help for a command

Options:
  -h, --help         Show help        --version   Show the version
      --json         JSON output, for CI

Exit codes:
  0    every callback accepted (check-url: URL valid, probe accepted)
  1    a delivery not accepted or a callback processed twice; check-url: URL invalid; dead-letters: Redis
       unreachable or a key not a dead letter; reconcile: a project not listed; sandbox: its port taken
  2    usage error: unknown command or option, missing or malformed value (nothing was sent)
  3    unexpected error in the tool itself
  130  interrupted (Ctrl-C or SIGTERM); the summary covers what was sent (sandbox: 0, a clean stop)

Run "superai-callbacks <command> --help" for a command's options.
`

/** Runs the command line `args` (without node and the script) and returns the exit code. */
export async function main (args: readonly string[], io: CliIo, version: string): Promise<number> {
  const [first, ...rest] = args
  if (first === undefined) {
    io.err(MAIN_HELP)
    return EXIT.USAGE
  }
  if (first === '--help' || first === '-h') {
    io.out(MAIN_HELP)
    return EXIT.OK
  }
  if (first === '--version' || first === '-v') {
    io.out(`${version}\n`)
    return EXIT.OK
  }
  if (first === 'help') {
    const topic = rest[0]
    io.out(topic !== undefined && isCommand(topic) ? COMMANDS[topic].help : MAIN_HELP)
    return EXIT.OK
  }
  if (!isCommand(first)) return usageError(io, new UsageError(`unknown command "${first}"`), undefined, rest.includes('--json'))

  try {
    return await COMMANDS[first].run(rest, io)
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error, first, rest.includes('--json'))
    throw error
  }
}

function usageError (io: CliIo, error: UsageError, command: CommandName | undefined, json: boolean): number {
  const help = `Run "superai-callbacks ${command === undefined ? '' : `${command} `}--help" for usage.`
  if (json) printJson(io, { ok: false, command, error: { code: 'USAGE', message: error.message } })
  io.err(`superai-callbacks: ${error.message}\n${help}\n`)
  return EXIT.USAGE
}
