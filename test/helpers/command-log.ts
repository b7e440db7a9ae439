import type { Cluster, Command, Redis } from 'ioredis'

/**
 * What one client sends, in order: `send <name>` as each command leaves and `reply <name>` as its reply
 * arrives. A command sent before an earlier one's reply shares its round trip. Observes this client only
 * (its own `sendCommand`), never the server, so a shared Redis is not disturbed.
 */
export function logCommands (client: Redis | Cluster): string[] {
  const log: string[] = []
  const target = client as unknown as { sendCommand: (command: Command, ...rest: unknown[]) => unknown }
  const send = target.sendCommand
  target.sendCommand = function (this: unknown, command: Command, ...rest: unknown[]): unknown {
    log.push(`send ${command.name}`)
    command.promise.then(() => { log.push(`reply ${command.name}`) }, () => { log.push(`reply ${command.name}`) })
    return send.call(this, command, ...rest)
  }
  return log
}

/** The longest run of sends before a reply: how many commands shared a round trip at most. */
export function roundTrips (log: readonly string[]): number {
  let trips = 0
  let sending = false
  for (const entry of log) {
    if (entry.startsWith('send ')) {
      if (!sending) trips++
      sending = true
    } else {
      sending = false
    }
  }
  return trips
}
