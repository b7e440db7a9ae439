import type { FastifyInstance } from 'fastify'
import { Dispatcher, type SuperaiSubscriptions } from './dispatcher.js'
import { resolveOptions, type SuperaiCallbacksOptions } from './options.js'
import { registerCallbackRoute } from './route.js'
import { MemoryStore } from './store/memory.js'
import { RedisStore } from './store/redis.js'
import { adoptRedis, connectRedis, type RedisConnection } from './store/redis-connection.js'
import type { IdempotencyStore } from './store/store.js'

export type SuperaiDecorator = SuperaiSubscriptions

async function openStore (app: FastifyInstance, choice: ReturnType<typeof resolveOptions>['store']):
Promise<{ store: IdempotencyStore, connection?: RedisConnection }> {
  switch (choice.kind) {
    case 'memory': return { store: new MemoryStore() }
    case 'custom': return { store: choice.store }
    case 'redis-client': {
      const connection = adoptRedis(choice.client, app.log)
      return { store: new RedisStore(connection.client), connection }
    }
    case 'redis-config': {
      const connection = await connectRedis(choice.url, choice.options, app.log)
      return { store: new RedisStore(connection.client), connection }
    }
  }
}

/** Resolve options, open the store, decorate `superai`, and add the route in a context of its own. */
export async function superaiCallbacksPlugin (app: FastifyInstance, raw: SuperaiCallbacksOptions): Promise<void> {
  const options = resolveOptions(raw)
  const { store, connection } = await openStore(app, options.store)
  if (connection !== undefined) app.addHook('onClose', async () => { await connection.close() })

  const dispatcher = new Dispatcher()
  app.decorate('superai', dispatcher.subscriptions())

  // a child context keeps the strict JSON parser and the error handler to this one route
  await app.register(async (child) => {
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('application/json', { parseAs: 'string' }, child.getDefaultJsonParser('error', 'error'))
    registerCallbackRoute(child, options, store, dispatcher)
  })
}
