/** Starting and stopping contender servers, each in a child process of its own. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export interface ServerProcess {
  readonly name: string
  readonly port: number
  readonly child: ChildProcess
}

const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url))

/** Every child not yet stopped, so that an interrupted run leaves none behind. */
const live = new Set<ChildProcess>()

export interface StartOptions {
  readonly env: Record<string, string>
  /** Extra node flags, such as `--cpu-prof`. */
  readonly nodeFlags?: readonly string[]
  readonly timeoutMs?: number
}

/** `node --import tsx bench/servers/<name>.ts`; resolves once it printed `LISTENING <port>`. */
export async function startServer (name: string, options: StartOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...options.nodeFlags ?? [], '--import', 'tsx', `${SERVERS_DIR}${name}.ts`], {
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    // an IPC channel: the child exits when it closes, so a killed harness leaves no server behind
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })

  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => { fail(new Error(`server ${name} did not start within ${options.timeoutMs ?? 20_000} ms`)) }, options.timeoutMs ?? 20_000)
    const onData = (chunk: string): void => {
      stdout += chunk
      const match = /LISTENING (\d+)/.exec(stdout)
      if (match !== null) { cleanup(); resolve(Number(match[1])) }
    }
    const onExit = (code: number | null): void => { fail(new Error(`server ${name} exited (${code}) before listening:\n${stderr}`)) }
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
    }
    const fail = (err: Error): void => { cleanup(); child.kill('SIGKILL'); reject(err) }
    child.stdout?.setEncoding('utf8').on('data', onData)
    child.once('exit', onExit)
  })
  // keep draining its output so that a chatty server never blocks on a full pipe
  child.stdout?.resume()
  return { name, port, child }
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopServer (server: ServerProcess, graceMs = 5000): Promise<void> {
  const { child } = server
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Synchronous last resort on an interrupted run. */
export function killAllServers (): void {
  for (const child of live) child.kill('SIGKILL')
}

export interface ServerStats {
  /** Calls of the trivial handler so far. */
  readonly handled: number
  /** User + system CPU time of the server process so far, microseconds. */
  readonly cpuMicros: number
}

export async function fetchStats (port: number): Promise<ServerStats> {
  const res = await fetch(`http://127.0.0.1:${port}/__bench/stats`)
  return await res.json() as ServerStats
}
