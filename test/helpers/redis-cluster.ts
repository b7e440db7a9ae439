import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ask, freePort, startRedisServer, waitFor, type RedisServer } from './redis-server.js'

const run = promisify(execFile)

export interface ClusterNodeInfo {
  readonly port: number
  readonly role: 'master' | 'replica'
  /** For a replica, the port of its master. */
  readonly masterPort: number | undefined
}

export interface RedisClusterSetup {
  /** Startup nodes for `redis: { cluster }`: every node started. */
  readonly nodes: ReadonlyArray<{ readonly host: string, readonly port: number }>
  readonly servers: ReadonlyMap<number, RedisServer>
  /** The roles as a live node sees them now. */
  topology (): Promise<ClusterNodeInfo[]>
  /** Waits until every live node reports `cluster_state:ok`. */
  waitHealthy (withinMs: number): Promise<void>
}

/**
 * A real Redis Cluster on free ports of 127.0.0.1: `masters` masters with `replicas` replicas each, a
 * short node timeout so that a killed master fails over in seconds. Killed and its files removed at teardown.
 */
export async function startRedisCluster (
  teardown: (fn: () => Promise<void>) => void,
  { masters = 3, replicas = 0, nodeTimeoutMs = 1000 }: { masters?: number, replicas?: number, nodeTimeoutMs?: number } = {}
): Promise<RedisClusterSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'superai-cluster-'))
  // registered first, so it runs after the servers are killed (teardowns run in reverse)
  teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const servers = new Map<number, RedisServer>()
  const count = masters * (1 + replicas)
  for (let i = 0; i < count; i++) {
    const server = await startRedisServer(teardown, 5000, {
      args: [
        '--cluster-enabled', 'yes', '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir,
        // a replica's first sync would otherwise wait 5 s for more replicas to join
        '--repl-diskless-sync-delay', '0'
      ],
      // an explicit bus port: port + 10000, the default, may be taken or past 65535
      forPort: async (port) => ({
        args: ['--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-port', String(await freePort())]
      })
    })
    servers.set(server.port, server)
  }
  const ports = [...servers.keys()]
  await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`),
    '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 })

  const live = (): number[] => ports.filter((port) => servers.get(port)?.running === true)
  const setup: RedisClusterSetup = {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    servers,
    async topology () {
      const text = String(await ask(live()[0] ?? ports[0] ?? 0, 'CLUSTER', 'NODES'))
      const lines = text.split('\n').filter((line) => line.trim() !== '' && !line.includes('fail'))
      const portOf = new Map(lines.map((line) => {
        const [id = '', address = ''] = line.split(' ')
        return [id, Number(address.split(':')[1]?.split('@')[0])]
      }))
      return lines.map((line) => {
        const [, address = '', flags = '', masterId = ''] = line.split(' ')
        const port = Number(address.split(':')[1]?.split('@')[0])
        const role = flags.includes('master') ? 'master' as const : 'replica' as const
        return { port, role, masterPort: role === 'replica' ? portOf.get(masterId) : undefined }
      })
    },
    async waitHealthy (withinMs) {
      await waitFor('cluster_state:ok on every node', async () => {
        for (const port of live()) {
          if (!String(await ask(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return false
        }
        return true
      }, withinMs)
    }
  }
  await setup.waitHealthy(20_000)
  if (replicas > 0) {
    await waitFor('every replica in sync with its master', async () => {
      for (const node of await setup.topology()) {
        if (node.role === 'replica' && !String(await ask(node.port, 'INFO', 'replication')).includes('master_link_status:up')) return false
      }
      return true
    }, 20_000)
  }
  return setup
}
