import { test } from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import { jobLog } from '../../src/queue/job-log.js'

function capture (): { log: FastifyBaseLogger, lines: Array<Record<string, unknown>>, children: () => number } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  const log = pino({ level: 'info' }, stream) as unknown as FastifyBaseLogger
  let made = 0
  const child = log.child.bind(log)
  log.child = ((bindings: Record<string, unknown>) => { made++; return child(bindings) }) as FastifyBaseLogger['child']
  return { log, lines, children: () => made }
}

test('a job logger makes its child only when a line is written, with the job id and attempt', async (t) => {
  const { log, lines, children } = capture()
  const quiet = jobLog(log, 'job-1', 1)
  t.equal(quiet.level, 'info')
  t.equal(children(), 0, 'no line: no child')
  const noisy = jobLog(log, 'job-2', 3)
  noisy.warn({ key: 'k' }, 'it %s', 'happened')
  noisy.error('again')
  noisy.debug('below the level')
  t.equal(children(), 1, 'one child for every line of the job')
  await new Promise((resolve) => setImmediate(resolve))
  t.match(lines, [
    { level: 40, jobId: 'job-2', attempt: 3, key: 'k', msg: 'it happened' },
    { level: 50, jobId: 'job-2', attempt: 3, msg: 'again' }
  ])
  t.equal(lines.length, 2)
  t.match(noisy.child({ extra: true }).info('x'), undefined)
})
