/**
 * Contender 1a: this plugin with Redis, default options (only the key prefix is the run's own). The option
 * contenders run this same server with BENCH_OPTIONS, plugin options as JSON merged over these; with
 * BENCH_FAKE_API (a base URL), `verify` asks that fake API; with BENCH_OTEL, an OpenTelemetry SDK is
 * registered first (bench/servers/otel-sdk.ts), for the `telemetry` contenders.
 */
import superaiCallbacks, { type SuperaiCallbacksOptions } from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

if (process.env.BENCH_OTEL === '1') await import('./otel-sdk.js')

const extra = JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as Pick<SuperaiCallbacksOptions, 'verify' | 'telemetry'>
const fakeApi = process.env.BENCH_FAKE_API
const app = createApp()
await app.register(superaiCallbacks, {
  redis: REDIS_URL,
  keyPrefix: PREFIX,
  ...extra,
  ...(typeof extra.verify !== 'object' || fakeApi === undefined ? {} : { verify: { ...extra.verify, baseUrl: fakeApi } })
} as SuperaiCallbacksOptions)
app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app)
