import type { Cluster, Redis } from 'ioredis'
import { atEndOfTurn } from './end-of-turn.js'

/** Connections already batched, so that batching twice cannot cork twice. */
const batched = new WeakSet<Redis>()

function batchConnectionWrites (connection: Redis): void {
  if (batched.has(connection)) return
  batched.add(connection)
  const send = connection.sendCommand
  let corked: Redis['stream'] | undefined
  const uncork = (): void => {
    const socket = corked
    corked = undefined
    socket?.uncork()
  }
  connection.sendCommand = function (this: Redis, command, stream) {
    // only direct writes on a live socket; a pipeline's or the offline queue's commands take their own path
    if (corked === undefined && stream === undefined && this.status === 'ready') {
      corked = this.stream
      corked.cork()
      atEndOfTurn('uncork', uncork)
    }
    return send.call(this, command, stream)
  }
}

/**
 * Commands written in one turn of the event loop leave in one socket write (one syscall, one TCP
 * segment) instead of one each: the first corks the socket, and the end of the turn (`setImmediate`)
 * uncorks it once the turn's I/O callbacks have run, after what the store flushes then. A
 * `process.nextTick` would only gather the commands of one callback, and each request arrives in its
 * own. What ioredis' auto-pipelining buys, without its per-command pipeline. On a Cluster, every node
 * connection, present and future. Only clients the plugin creates: a client passed in is never patched.
 */
export function batchWrites (client: Redis | Cluster): void {
  if (!client.isCluster) {
    batchConnectionWrites(client as Redis)
    return
  }
  const cluster = client as Cluster
  for (const node of cluster.nodes()) batchConnectionWrites(node)
  cluster.on('+node', batchConnectionWrites)
}
