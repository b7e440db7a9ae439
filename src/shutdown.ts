/** Anything the plugin opened that closes asynchronously. */
interface Closable { close (): Promise<void> }

/**
 * Shutdown, in the one order that loses nothing: reconciliation's running pass, the worker's running jobs, the deliveries in flight and
 * the outcomes still owed to the store, the queue, then the connection (shared by the plugin and
 * createSuperaiWorker). Typed structurally so that no declaration reaches bullmq's types.
 */
export async function closeInOrder (parts: {
  readonly reconciler?: Closable | undefined
  readonly workerSide?: Closable | undefined
  readonly pipeline: { drain (): Promise<void> }
  readonly queueSide?: Closable | undefined
  readonly connection?: Closable | undefined
}): Promise<void> {
  await parts.reconciler?.close()
  await parts.workerSide?.close()
  await parts.pipeline.drain()
  await parts.queueSide?.close()
  await parts.connection?.close()
}
