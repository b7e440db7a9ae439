/** Where a command writes, and what stops it: injected so that tests and the entry point differ only here. */
export interface CliIo {
  /** Results: text, or the one JSON document of `--json`. */
  readonly out: (text: string) => void
  /** Diagnostics and usage errors. */
  readonly err: (text: string) => void
  /** A terminal for the progress bar, or undefined when stderr is not a TTY. */
  readonly progress?: NodeJS.WritableStream
  /** Aborted on Ctrl-C: commands stop sending and report what they did. */
  readonly signal: AbortSignal
}

/** `--json` output: one document, so that CI can pipe it to jq. */
export const printJson = (io: CliIo, value: unknown): void => { io.out(`${JSON.stringify(value, null, 2)}\n`) }
