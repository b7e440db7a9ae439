/** Contender 1b: this plugin with its in-memory store (no `redis` option). */
import superaiCallbacks from '../../src/index.js'
import { createApp, handleCallback, serve } from './common.js'

const app = createApp()
await app.register(superaiCallbacks)
app.superai.onJobCompleted((event) => { handleCallback(event) })
await serve(app)
