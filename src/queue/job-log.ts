import type { FastifyBaseLogger } from 'fastify'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/**
 * A job's logger, `log.child({ jobId, attempt })`, made on its first line only: most jobs log nothing,
 * and a pino child (bindings serialised, a new object) per job was a visible part of a worker's time.
 */
export function jobLog (parent: FastifyBaseLogger, jobId: string | undefined, attempt: number): FastifyBaseLogger {
  return new JobLog(parent, jobId, attempt) as unknown as FastifyBaseLogger
}

class JobLog {
  readonly #parent: FastifyBaseLogger
  readonly #jobId: string | undefined
  readonly #attempt: number
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, jobId: string | undefined, attempt: number) {
    this.#parent = parent
    this.#jobId = jobId
    this.#attempt = attempt
  }

  get #log (): FastifyBaseLogger {
    this.#child ??= this.#parent.child({ jobId: this.#jobId, attempt: this.#attempt })
    return this.#child
  }

  get level (): string { return this.#parent.level }
  set level (level: string) { this.#log.level = level }
  child (bindings: Record<string, unknown>): FastifyBaseLogger { return this.#log.child(bindings) }
  fatal (...args: unknown[]): void { this.#call('fatal', args) }
  error (...args: unknown[]): void { this.#call('error', args) }
  warn (...args: unknown[]): void { this.#call('warn', args) }
  info (...args: unknown[]): void { this.#call('info', args) }
  debug (...args: unknown[]): void { this.#call('debug', args) }
  trace (...args: unknown[]): void { this.#call('trace', args) }
  silent (): void {}

  #call (level: Exclude<Level, 'silent'>, args: unknown[]): void {
    const log = this.#log
    // pino's methods read `this`
    ;(log[level] as (...rest: unknown[]) => void).apply(log, args)
  }
}
