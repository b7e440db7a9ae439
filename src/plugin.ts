import type { FastifyInstance } from 'fastify'
import { assemble } from './assembly.js'
import type { SuperaiSubscriptions } from './delivery/dispatcher.js'
import type { SuperaiStats } from './observability.js'
import type { ReconcileSummary } from './reconcile/reconciler.js'
import { resolveOptions, type SuperaiCallbacksOptions } from './options.js'
import { registerCallbackRoute } from './receiver/route.js'
import { keepingRawBody } from './receiver/signature-check.js'
import { validateCallbackUrl } from './client/callback-url.js'
import { codes } from './errors.js'
import { TOKEN_QUERY } from './receiver/authenticate.js'
import type { ResolvedOptions } from './options.js'
import type { SuperaiDeadLetters, SuperaiQueue } from './queue/types.js'
import type { SuperaiClient } from './client/client.js'
import type { WaitForOptions, WaitResult } from './wait/job-waiters.js'

export type SuperaiDecorator = SuperaiSubscriptions & {
  /**
   * The exact URL to give super.AI as `callbackUrl`: `publicBaseUrl` (where super.AI reaches this app)
   * plus the route prefix, the path and, with `secret`, the current token. Validated as super.AI requires.
   */
  callbackUrl (publicBaseUrl: string | URL): string
  /** Counters by outcome since the plugin started. */
  stats (): SuperaiStats
  /** Queue mode: the BullMQ `Queue` (for bull-board, metrics); undefined in synchronous mode. */
  readonly queue: SuperaiQueue | undefined
  /** Queue mode: the callbacks whose handlers failed on every try; undefined in synchronous mode. */
  readonly deadLetters: SuperaiDeadLetters | undefined
  /**
   * With the `reconcile` option: a pass over the whole lookback now (after the one this process may be
   * running), whatever the shared schedule. Rejects with `FST_SUPERAI_RECONCILE_FAILED` when no project
   * could be listed, and `FST_SUPERAI_RECONCILE_NOT_CONFIGURED` without the option.
   */
  reconcile (): Promise<ReconcileSummary>
  /**
   * super.AI's API through the `api` option's key: the client of `createSuperaiClient`, one per
   * registration. Without the option every call rejects with `FST_SUPERAI_API_NOT_CONFIGURED`.
   */
  readonly api: SuperaiClient
  /**
   * Resolves `{ uuid, state }` once a state change of job `uuid` to one of `states` (default: those that
   * end a job) has been processed (its handlers succeeded, or it was skipped as superseded) by any
   * instance sharing the store; at once when it was processed before the call (within `ttl`). Rejects
   * with `FST_SUPERAI_WAIT_TIMEOUT` after `timeout` ms (default 60000), with the signal's reason when
   * `signal` aborts, and with `FST_SUPERAI_WAIT_CLOSED` when the app closes.
   */
  waitFor (uuid: string, options?: WaitForOptions): Promise<WaitResult>
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

/** Resolve options, open the store, decorate `superai`, and add the route in a context of its own. */
export async function superaiCallbacksPlugin (app: FastifyInstance, raw: SuperaiCallbacksOptions): Promise<void> {
  // before anything is opened; also catches a CommonJS and an ESM copy of the package registered together
  if (app.hasDecorator('superai')) throw new codes.FST_SUPERAI_ALREADY_REGISTERED()
  const options = resolveOptions(raw)
  const { dispatcher, observer, pipeline, queueSide, reconciler, api, waiters, start, close } = await assemble(options, app.log)
  // no job is taken and no pass runs before the app's code has subscribed its handlers; never awaited,
  // so a slow API never delays the start
  app.addHook('onReady', async () => { start() })
  if (reconciler !== undefined) {
    // before anything else closes: no pass starts while the requests drain
    app.addHook('preClose', async () => { void reconciler.close() })
  }
  // a keep-alive connection whose delivery is in flight when close() starts would otherwise hold close()
  // for keepAliveTimeout after its answer: those answers say `Connection: close`
  const lifecycle = { closing: false }
  app.addHook('preClose', async () => { lifecycle.closing = true })
  // in preClose, not onClose: a request awaiting waitFor would otherwise hold app.close() until its timeout
  app.addHook('preClose', async () => { await waiters.close() })
  // onClose runs after the in-flight requests are answered
  app.addHook('onClose', async () => { await close() })

  const routePrefix = app.prefix
  const decorator: SuperaiDecorator = Object.freeze({
    ...dispatcher.subscriptions(),
    callbackUrl: (publicBaseUrl: string | URL) => callbackUrlFor(options, routePrefix, publicBaseUrl),
    stats: () => observer.stats(),
    queue: queueSide?.queue,
    deadLetters: queueSide?.deadLetters,
    reconcile: async () => {
      if (reconciler === undefined) throw new codes.FST_SUPERAI_RECONCILE_NOT_CONFIGURED()
      return await reconciler.reconcile()
    },
    api,
    waitFor: async (uuid: string, waitOptions?: WaitForOptions) => await waiters.waitFor(uuid, waitOptions)
  })
  app.decorate('superai', decorator)

  // a child context keeps the strict JSON parser and the error handler to this one route
  await app.register(async (child) => {
    child.removeAllContentTypeParsers()
    const parse = child.getDefaultJsonParser('error', 'error')
    child.addContentTypeParser('application/json', { parseAs: 'string' }, options.signatureVerifier === undefined ? parse : keepingRawBody(parse))
    registerCallbackRoute(child, options, pipeline, observer, lifecycle)
  })
}
