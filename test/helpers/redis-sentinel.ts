import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ask, startRedisServer, waitFor, type RedisServer } from './redis-server.js'

export const SENTINEL_MASTER_NAME = 'superai-test'

export interface RedisSentinelSetup {
  /** For `redis: { sentinels, name }`. */
  readonly sentinels: Array<{ host: string, port: number }>
  readonly name: string
  readonly master: RedisServer
  readonly replica: RedisServer
  /** The master's port as the first sentinel reports it now. */
  masterPort (): Promise<number>
}

/**
 * One master, one replica and `count` sentinels (quorum 1) on free ports of 127.0.0.1, declaring the
 * master down after `downAfterMs`. Everything is killed and its files removed at teardown.
 */
export async function startRedisSentinel (
  teardown: (fn: () => Promise<void>) => void,
  { count = 1, downAfterMs = 1000 }: { count?: number, downAfterMs?: number } = {}
): Promise<RedisSentinelSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'superai-sentinel-'))
  teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  // in the tmp dir: a replica's full sync writes an RDB file to its working directory
  // a replica's first sync would otherwise wait repl-diskless-sync-delay (5 s) for more replicas to join
  const master = await startRedisServer(teardown, 5000, { args: ['--dir', dir, '--repl-diskless-sync-delay', '0'] })
  const replica = await startRedisServer(teardown, 5000, { args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] })
  await waitFor('the replica in sync', async () => String(await ask(replica.port, 'INFO', 'replication')).includes('master_link_status:up'), 10_000)

  const sentinelPorts: number[] = []
  for (let i = 0; i < count; i++) {
    const sentinel = await startRedisServer(teardown, 5000, {
      args: ['--sentinel', '--dir', dir],
      // a sentinel rewrites its config file, so each gets a writable one
      forPort: async (port) => {
        const configFile = join(dir, `sentinel-${port}.conf`)
        await writeFile(configFile, [
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} 1`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${downAfterMs}`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          ''
        ].join('\n'))
        return { configFile }
      }
    })
    sentinelPorts.push(sentinel.port)
  }
  const first = sentinelPorts[0] ?? 0
  const masterPort = async (): Promise<number> => {
    const [, port] = await ask(first, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME) as [string, string]
    return Number(port)
  }
  // a failover needs a replica each sentinel knows of and has reached (INFO read: its link to the master
  // is up), not only one listed from the master's INFO
  await waitFor('the sentinels reach the replica', async () => {
    for (const port of sentinelPorts) {
      const replicas = await ask(port, 'SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME) as string[][]
      const reached = replicas.some((fields) => {
        const field = (name: string): string | undefined => fields[fields.indexOf(name) + 1]
        return field('port') === String(replica.port) && field('master-link-status') === 'ok' &&
          !(field('flags') ?? '').includes('disconnected')
      })
      if (!reached) return false
    }
    return true
  }, 15_000, 200)
  return {
    sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    name: SENTINEL_MASTER_NAME,
    master,
    replica,
    masterPort
  }
}
