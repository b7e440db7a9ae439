/** At most this many operations per script call: a call holds Redis for all of them (about a microsecond each). */
const MAX_OPS_PER_CALL = 256

/** One store operation waiting for the end of the turn. */
interface Op {
  /** Its letter in the batch script's arguments. */
  readonly code: string
  readonly keys: readonly string[]
  readonly args: ReadonlyArray<string | number>
  /** Its answer out of its entry in the batch script's reply. */
  readonly parse: (reply: unknown) => unknown
  /** The operation on its own: what a turn with only this one sends. */
  readonly alone: () => Promise<unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

/** Sends one call of the batch script: every operation's keys, then its letter and arguments, in order. */
export type SendOps = (keys: string[], args: Array<string | number>) => Promise<unknown>

/**
 * The store operations of one turn of the event loop (the claims and completions of every request whose
 * I/O callback ran in it) sent as one call of a script that runs them in order, each on its own answer.
 * One command instead of many saves Redis a script call per operation and this process a command's
 * bookkeeping and timer each. A turn with a single operation sends it alone, as it always was. An
 * operation's error is its own; a call that fails (a timeout, a lost connection) fails all of its own.
 */
export class OpBatch {
  readonly #send: SendOps
  #ops: Op[] = []

  constructor (send: SendOps) {
    this.#send = send
  }

  /** Queues an operation for the end of this turn: its answer, parsed from its entry, or what `alone` answers. */
  run<T> (code: string, keys: readonly string[], args: ReadonlyArray<string | number>, parse: (reply: unknown) => T, alone: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // once the turn's I/O callbacks have run, so that the operations of many requests gather
      if (this.#ops.length === 0) setImmediate(this.#flush)
      this.#ops.push({ code, keys, args, parse, alone, resolve: resolve as (value: unknown) => void, reject })
    })
  }

  readonly #flush = (): void => {
    const ops = this.#ops
    this.#ops = []
    const only = ops.length === 1 ? ops[0] : undefined
    if (only !== undefined) {
      only.alone().then(only.resolve, only.reject)
      return
    }
    for (let from = 0; from < ops.length; from += MAX_OPS_PER_CALL) this.#call(ops.slice(from, from + MAX_OPS_PER_CALL))
  }

  #call (ops: readonly Op[]): void {
    const keys: string[] = []
    const args: Array<string | number> = []
    for (const op of ops) {
      keys.push(...op.keys)
      args.push(op.code, ...op.args)
    }
    this.#send(keys, args).then((replies) => {
      ops.forEach((op, i) => {
        const reply = Array.isArray(replies) ? replies[i] as unknown : undefined
        if (reply instanceof Error) op.reject(reply)
        else if (reply === undefined) op.reject(new Error(`the batch script answered no entry for operation ${i + 1} of ${ops.length}`))
        else {
          try {
            op.resolve(op.parse(reply))
          } catch (err) {
            op.reject(err)
          }
        }
      })
    }, (err: unknown) => { for (const op of ops) op.reject(err) })
  }
}
