import type { FastifyBaseLogger } from 'fastify'
import { isCoded } from '../errors.js'
import { isEntityEvent } from '../schema.js'
import { loadBullmq } from '../queue/bullmq.js'
import { DeadLetters } from '../queue/dead-letters.js'
import { QUEUE_DEFAULTS, checkClusterPrefix, resolveQueueOptions } from '../queue/options.js'
import { connectRedis, connectRedisCluster, connectRedisSentinel, type RedisConnection } from '../store/connection.js'
import { resolveRedis, type RedisChoice } from '../store/redis-config.js'
import type { CallbackJobData, DeadLetter } from '../queue/types.js'
import { EXIT, UsageError, parse } from './args.js'
import { printJson, type CliIo } from './io.js'

export const DEAD_LETTERS_HELP = `Usage: superai-callbacks dead-letters list|replay --redis <url> [options] [key...]
       superai-callbacks dead-letters list|replay --cluster <host:port> [--cluster ...] [options] [key...]
       superai-callbacks dead-letters list|replay --sentinel <host:port> [--sentinel ...] --master <name> [options] [key...]

The callbacks of queue mode whose handlers failed on every try (BullMQ's failed set).

  list                 Show every dead letter: key, job uuid or batch id, state, tries, when and why it failed
  replay [key...]      Put them back in the queue with their tries reset (every dead letter when no
                       key is given); a running worker handles them again

Options:
      --redis URL             The Redis the queue lives in (redis:// or rediss://)
      --cluster HOST:PORT     Or a node of the Redis Cluster it lives in, repeatable (the others are found)
      --sentinel HOST:PORT    Or a sentinel watching its Redis, repeatable; with --master
      --master NAME           The master name the sentinels monitor
      --queue NAME            BullMQ queue name (default ${QUEUE_DEFAULTS.name})
      --prefix PREFIX         BullMQ key prefix (default ${QUEUE_DEFAULTS.prefix})
      --json                  Print one JSON document on stdout instead of text
  -h, --help                  Show this help

On a Cluster the queue's --prefix holds a hash tag, as the receiver's must.

Exit codes: 0 done; 1 Redis unreachable, or a key given to replay is not a dead letter; 2 usage error.

Example:
  superai-callbacks dead-letters list --redis redis://127.0.0.1:6379
  superai-callbacks dead-letters list --cluster 10.0.0.1:6379 --prefix '{superai}'
  superai-callbacks dead-letters replay --redis redis://127.0.0.1:6379 superai:callbacks:Ab3...
`

const OPTIONS = {
  redis: { type: 'string' },
  cluster: { type: 'string', multiple: true },
  sentinel: { type: 'string', multiple: true },
  master: { type: 'string' },
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

/** `host:port` (an IPv6 host in brackets: `[::1]:6379`), as a node or a sentinel is given. */
function hostPort (flag: string, value: string): { host: string, port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value)
  const port = Number(match?.[3])
  const host = match?.[1] ?? match?.[2]
  if (host === undefined || !(port >= 1 && port <= 65535)) throw new UsageError(`${flag} expects host:port, got "${value}"`)
  return { host, port }
}

/** The Redis the flags name: `--redis`, `--cluster` or `--sentinel` with `--master`, exactly one of them. */
function redisOf (values: { redis?: string | undefined, cluster?: string[] | undefined, sentinel?: string[] | undefined, master?: string | undefined }): RedisChoice {
  const given = [values.redis !== undefined, values.cluster !== undefined, values.sentinel !== undefined].filter(Boolean).length
  if (given !== 1) throw new UsageError('give the Redis the queue lives in: --redis <url>, --cluster <host:port> or --sentinel <host:port> with --master <name> (one of them)')
  if (values.master !== undefined && values.sentinel === undefined) throw new UsageError('--master goes with --sentinel')
  try {
    if (values.cluster !== undefined) return resolveRedis({ cluster: values.cluster.map((node) => hostPort('--cluster', node)) })
    if (values.sentinel !== undefined) {
      if (values.master === undefined) throw new UsageError('--sentinel needs --master <name>, the master the sentinels monitor')
      return resolveRedis({ sentinels: values.sentinel.map((node) => hostPort('--sentinel', node)), name: values.master })
    }
    return resolveRedis(values.redis)
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

/** The command's own client, with the plugin's fail-fast defaults; Redis trouble ends the command with its error instead. */
async function connect (choice: RedisChoice): Promise<RedisConnection> {
  switch (choice.kind) {
    case 'redis-cluster': return await connectRedisCluster(choice.config, QUIET)
    case 'redis-sentinel': return await connectRedisSentinel(choice.options, QUIET)
    case 'redis-config': return await connectRedis(choice.url, choice.options, QUIET)
    default: throw new UsageError('a client cannot be given on the command line')
  }
}

const ignore = (): void => {}
/** The connection's outage log: the command reports the failure itself. */
const QUIET = {
  level: 'silent', fatal: ignore, error: ignore, warn: ignore, info: ignore, debug: ignore, trace: ignore, silent: ignore, child: () => QUIET
} as unknown as FastifyBaseLogger

export async function deadLetters (args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS)
  if (values.help === true) {
    io.out(DEAD_LETTERS_HELP)
    return EXIT.OK
  }
  const [action, ...keys] = positionals
  if (action !== 'list' && action !== 'replay') throw new UsageError(`expected "list" or "replay", got ${action === undefined ? 'nothing' : `"${action}"`}`)
  if (action === 'list' && keys.length > 0) throw new UsageError(`list takes no key, got "${keys[0] ?? ''}"`)
  const choice = redisOf(values)
  let queueOptions
  try {
    queueOptions = resolveQueueOptions({ name: values.queue, prefix: values.prefix })
    if (choice.kind === 'redis-cluster') checkClusterPrefix(queueOptions?.prefix ?? QUEUE_DEFAULTS.prefix, { isCluster: true })
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
  let connection: RedisConnection
  try {
    connection = await connect(choice)
  } catch (error) {
    // the connection's coded error names the plugin's option; here the flags named the Redis
    if (isCoded(error)) return fail(error.message.replace(/^Invalid option "redis": /, ''))
    throw error
  }
  const queue = new bullmq.Queue<CallbackJobData>(queueOptions?.name ?? QUEUE_DEFAULTS.name, {
    connection: connection.client, prefix: queueOptions?.prefix ?? QUEUE_DEFAULTS.prefix
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
    await connection.close()
  }
}
