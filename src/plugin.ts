import type { FastifyInstance } from 'fastify'
import { Dispatcher, type SuperaiSubscriptions } from './dispatcher.js'
import { resolveOptions, type SuperaiCallbacksOptions } from './options.js'
import { registerCallbackRoute } from './route.js'
import { MemoryStore } from './store/memory.js'
import { RedisStore } from './store/redis.js'
import { adoptRedis, connectRedis, type RedisConnection } from './store/redis-connection.js'
import type { IdempotencyStore } from './store/store.js'
import { validateCallbackUrl } from './callback-url.js'
import { TOKEN_QUERY } from './authenticate.js'
import { JobVerifier } from './verify.js'
import type { ResolvedOptions } from './options.js'

export type SuperaiDecorator = SuperaiSubscriptions & {
  /**
   * The exact URL to give super.AI as `callbackUrl`: `publicBaseUrl` (where super.AI reaches this app)
   * plus the route prefix, the path and, with `secret`, the current token. Validated as super.AI requires.
   */
  callbackUrl (publicBaseUrl: string | URL): string
}

/** Joins the public origin (and any path it has) with the route, adding the token where it travels. */
function callbackUrlFor (options: ResolvedOptions, routePrefix: string, publicBaseUrl: string | URL): string {
  const base = new URL(String(publicBaseUrl))
  const route = `${base.pathname.replace(/\/+$/, '')}${routePrefix}${options.path}`
  const token = options.callbackToken
  if (token !== undefined && options.guard.secretIn === 'path') {
    base.pathname = `${route}${token}/`
  } else {
    base.pathname = route
    if (token !== undefined && options.guard.secretIn === 'query') base.searchParams.set(TOKEN_QUERY, token)
  }
  return validateCallbackUrl(base)
}

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
  const routePrefix = app.prefix
  const decorator: SuperaiDecorator = Object.freeze({
    ...dispatcher.subscriptions(),
    callbackUrl: (publicBaseUrl: string | URL) => callbackUrlFor(options, routePrefix, publicBaseUrl)
  })
  app.decorate('superai', decorator)
  const verifier = options.verify === undefined ? undefined : new JobVerifier(options.verify)

  // a child context keeps the strict JSON parser and the error handler to this one route
  await app.register(async (child) => {
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('application/json', { parseAs: 'string' }, child.getDefaultJsonParser('error', 'error'))
    registerCallbackRoute(child, options, store, dispatcher, verifier)
  })
}
