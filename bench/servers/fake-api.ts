/**
 * A stand-in for super.AI's API on 127.0.0.1, for the `verify` contender: `GET /v1/jobs/<uuid>` answers the
 * documented job object, COMPLETED, so that every callback of the workloads verifies. A process of its own,
 * so that its CPU is not charged to the server it answers.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const JOBS = '/v1/jobs/'
const server = createServer((request, response) => {
  const url = request.url ?? ''
  if (request.method !== 'GET' || !url.startsWith(JOBS)) {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}')
    return
  }
  const uuid = url.slice(JOBS.length)
  const now = new Date().toISOString()
  const job = { id: 1, uuid, appId: 'bench-app', status: 'COMPLETED', created: now, completed: now, batchId: null, tags: [] }
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(job))
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`)
})
const stop = (): void => { server.close(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('disconnect', stop)
