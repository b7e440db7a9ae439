import { Redis } from 'ioredis'
import { isCoded } from '../errors.js'
import { isEntityEvent } from '../schema.js'
import { loadBullmq } from '../queue/bullmq.js'
import { DeadLetters } from '../queue/dead-letters.js'
import { QUEUE_DEFAULTS, resolveQueueOptions } from '../queue/options.js'
import type { CallbackJobData, DeadLetter } from '../queue/types.js'
import { quitRedis } from '../store/connection.js'
import { EXIT, UsageError, parse } from './args.js'
import { printJson, type CliIo } from './io.js'

export const DEAD_LETTERS_HELP = `Usage: superai-callbacks dead-letters list|replay --redis <url> [options] [key...]

The callbacks of queue mode whose handlers failed on every try (BullMQ's failed set).

  list                 Show every dead letter: key, job uuid or batch id, state, tries, when and why it failed
  replay [key...]      Put them back in the queue with their tries reset (every dead letter when no
                       key is given); a running worker handles them again

Options:
      --redis URL             The Redis the queue lives in (redis:// or rediss://)
      --queue NAME            BullMQ queue name (default ${QUEUE_DEFAULTS.name})
      --prefix PREFIX         BullMQ key prefix (default ${QUEUE_DEFAULTS.prefix})
      --json                  Print one JSON document on stdout instead of text
  -h, --help                  Show this help

Exit codes: 0 done; 1 Redis unreachable, or a key given to replay is not a dead letter; 2 usage error.

Example:
  superai-callbacks dead-letters list --redis redis://127.0.0.1:6379
  superai-callbacks dead-letters replay --redis redis://127.0.0.1:6379 superai:callbacks:Ab3...
`

const OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** What a dead letter is about: a job (uuid, state / action) or a v2 callback's entity (type id, state). */
const subjectOf = ({ event }: DeadLetter): string => isEntityEvent(event)
  ? `${event.entityType} ${event.entityId}  ${event.state}`
  : `job ${event.uuid}  ${event.state} / ${event.action}`

const describeLetter = (letter: DeadLetter): string =>
  `  ${letter.key}\n    ${subjectOf(letter)}  ` +
  `${letter.attempts} ${letter.attempts === 1 ? 'try' : 'tries'}, last ${letter.failedAt.toISOString()}\n    ${letter.reason}\n`

export async function deadLetters (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(DEAD_LETTERS_HELP)
    return EXIT.OK
  }
  const [action, ...keys] = positionals
  if (action !== 'list' && action !== 'replay') throw new UsageError(`expected "list" or "replay", got ${action === undefined ? 'nothing' : `"${action}"`}`)
  if (action === 'list' && keys.length > 0) throw new UsageError(`list takes no key, got "${keys[0] ?? ''}"`)
  if (values.redis === undefined || !/^rediss?:\/\//.test(values.redis)) throw new UsageError('--redis must be a redis:// or rediss:// URL')
  let queueOptions
  try {
    queueOptions = resolveQueueOptions({ name: values.queue, prefix: values.prefix })
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  const json = values.json === true
  const fail = (message: string): number => {
    if (json) printJson(io, { ok: false, command: 'dead-letters', action, error: message })
    io.err(`superai-callbacks: ${message}\n`)
    return EXIT.FAILED
  }

  let bullmq
  try {
    bullmq = await loadBullmq()
  } catch (error) {
    if (isCoded(error)) return fail(error.message)
    throw error
  }
  const redis = new Redis(values.redis, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000, retryStrategy: () => null })
  let lastError: Error | undefined
  redis.on('error', (error: Error) => { lastError = error })
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    return fail(`could not connect to Redis at ${values.redis}: ${(lastError ?? error as Error).message}`)
  }
  const queue = new bullmq.Queue<CallbackJobData>(queueOptions?.name ?? QUEUE_DEFAULTS.name, {
    connection: redis, prefix: queueOptions?.prefix ?? QUEUE_DEFAULTS.prefix
  })
  queue.on('error', () => {})
  try {
    const letters = new DeadLetters(queue)
    if (action === 'list') {
      const list = await letters.list()
      if (json) printJson(io, { ok: true, command: 'dead-letters', action, count: list.length, deadLetters: list })
      else io.out(list.length === 0 ? 'No dead letters.\n' : `${list.length} dead ${list.length === 1 ? 'letter' : 'letters'}:\n${list.map(describeLetter).join('')}`)
      return EXIT.OK
    }
    const result = await letters.replay(keys.length === 0 ? undefined : keys)
    const ok = result.missing.length === 0
    if (json) {
      printJson(io, { ok, command: 'dead-letters', action, ...result })
    } else {
      io.out(`Replayed ${result.replayed.length} dead ${result.replayed.length === 1 ? 'letter' : 'letters'}.\n`)
      for (const key of result.replayed) io.out(`  ✓ ${key}\n`)
      for (const key of result.missing) io.out(`  ✗ ${key}: not a dead letter (never failed, already replayed, or expired)\n`)
    }
    return ok ? EXIT.OK : EXIT.FAILED
  } finally {
    await queue.close().catch(() => {})
    await quitRedis(redis)
  }
}
