import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

/** One command to the Redis on 127.0.0.1:port on a short-lived connection, bounded in time. */
export async function ask (port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
    enableOfflineQueue: false
  })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.call(command, ...args)
  } finally {
    redis.disconnect()
  }
}

/** Polls `check` every `everyMs` until it holds, failing with `what` after `withinMs`. */
export async function waitFor (what: string, check: () => Promise<boolean>, withinMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + withinMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`)
    await sleep(everyMs)
  }
}

/** Ports this process handed out: never twice, so that, say, a Cluster node's port and bus port differ. */
const handedOut = new Set<number>()

// Below the kernel's ephemeral range (32768-60999 on Linux): a port taken from that range (listen on 0) can
// be handed by the kernel to another test process's listen(0), or to an outgoing connection, between our
// check and redis-server's bind. Here only these helpers choose ports, at random, and a clash is retried.
const PORT_RANGE = { from: 20_000, to: 32_000 } as const

/** A TCP port of 127.0.0.1 nothing listens on right now, not handed out before by this process. */
export async function freePort (): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from))
    if (handedOut.has(port) || !await canListen(port)) continue
    handedOut.add(port)
    return port
  }
  throw new Error(`no free port between ${PORT_RANGE.from} and ${PORT_RANGE.to}`)
}

async function canListen (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise<boolean>((resolve) => {
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** True when a Redis on 127.0.0.1:port answers PING within `timeoutMs`. */
export async function pingRedis (port: number, timeoutMs = 500): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let received = ''
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => { done(false) }, timeoutMs)
    socket.on('connect', () => { socket.write('PING\r\n') })
    socket.on('data', (chunk) => {
      received += chunk.toString()
      if (received.includes('\r\n')) done(received.startsWith('+PONG'))
    })
    socket.on('error', () => { done(false) })
  })
}

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Whether the redis-server process is alive. */
  readonly running: boolean
  /** SIGKILL, as a crash would, and wait until the process is gone. */
  kill (): Promise<void>
  /** Start a fresh redis-server on the same port: empty, unless its args persist (AOF in a kept `--dir`). */
  restart (): Promise<void>
  /** Sends a signal, such as SIGSTOP to freeze the server with its connections open, and SIGCONT to thaw it. */
  signal (signal: NodeJS.Signals): void
}

/** Every redis-server these helpers started and that is still running; killed if the test process exits. */
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const child of live) child.kill('SIGKILL') })

/** How to start one redis-server beyond the defaults (no persistence, 127.0.0.1 only). */
export interface RedisServerOptions {
  /** Appended to the command line; later directives win, e.g. `['--appendonly', 'yes', '--dir', tmp]`. */
  readonly args?: readonly string[]
  /** A config file to start from (it comes first on the command line), e.g. a sentinel's. */
  readonly configFile?: string
  /** A given port instead of a free one. */
  readonly port?: number
  /**
   * What depends on the port (a Cluster node's config file and bus port, a sentinel's config file): asked
   * again for each port tried, since a free port can be taken before redis-server binds it.
   */
  readonly forPort?: (port: number) => Promise<{ readonly args?: readonly string[], readonly configFile?: string }>
}

/** The command line's variable part for one port. */
interface Launch { readonly args: readonly string[], readonly configFile: string | undefined }

async function launchOn (port: number, { args = [], configFile, forPort }: RedisServerOptions): Promise<Launch> {
  const specific = await forPort?.(port)
  return { args: [...args, ...specific?.args ?? []], configFile: specific?.configFile ?? configFile }
}

/** redis-server could not bind its port: something else took it after `freePort` chose it. */
class PortTaken extends Error {}

/** The pid of the Redis answering on 127.0.0.1:port, or undefined while none answers. */
async function pidOn (port: number): Promise<number | undefined> {
  if (!await pingRedis(port)) return undefined
  const info = String(await ask(port, 'INFO', 'server').catch(() => ''))
  const pid = /process_id:(\d+)/.exec(info)?.[1]
  return pid === undefined ? undefined : Number(pid)
}

async function spawnOn (port: number, readyWithinMs: number, { args, configFile }: Launch): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    ...(configFile === undefined ? [] : [configFile]),
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...args
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  live.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.once('exit', () => { live.delete(child) })
  const deadline = Date.now() + readyWithinMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const message = `redis-server on port ${port} exited early (${child.exitCode ?? child.signalCode}): ${stderr}`
      throw /already in use/i.test(stderr) ? new PortTaken(message) : new Error(message)
    }
    // ready only when the Redis answering is this child: another test's server may hold the port, and a
    // PING alone would take it for ours (the child then exits, and killing "it" kills nothing)
    const pid = await pidOn(port)
    if (pid === child.pid) return child
    await sleep(50)
  }
  child.kill('SIGKILL')
  throw new Error(`redis-server on port ${port} did not answer PING within ${readyWithinMs} ms`)
}

async function killAndWait (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  // SIGKILL ends a stopped (SIGSTOP) process too
  child.kill('SIGKILL')
  await exited
}

/**
 * A private redis-server on a free port of 127.0.0.1, killed at teardown (pass `t.teardown`) and, as a
 * last resort, when the test process exits.
 */
export async function startRedisServer (
  teardown: (fn: () => Promise<void>) => void, readyWithinMs = 5000, options: RedisServerOptions = {}
): Promise<RedisServer> {
  let port = options.port ?? await freePort()
  let launch = await launchOn(port, options)
  let child: ChildProcess
  for (let tries = 1; ; tries++) {
    try {
      child = await spawnOn(port, readyWithinMs, launch)
      break
    } catch (err) {
      // taken between freePort and the bind: another port, unless the caller chose this one
      if (!(err instanceof PortTaken) || options.port !== undefined || tries >= 5) throw err
      port = await freePort()
      launch = await launchOn(port, options)
    }
  }
  teardown(async () => { await killAndWait(child) })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running () { return child.exitCode === null && child.signalCode === null },
    kill: async () => { await killAndWait(child) },
    restart: async () => {
      await killAndWait(child)
      child = await spawnOn(port, readyWithinMs, launch)
    },
    signal: (signal) => { child.kill(signal) }
  }
}
