/** Contender 1a: this plugin with Redis, default options (only the key prefix is the run's own). */
import superaiCallbacks from '../../src/index.js'
import { PREFIX, REDIS_URL, createApp, handleCallback, serve } from './common.js'

const app = createApp()
await app.register(superaiCallbacks, { redis: REDIS_URL, keyPrefix: PREFIX })
app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app)
