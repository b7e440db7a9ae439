import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import ts from 'typescript'
import * as pkg from '../src/index.js'

/**
 * The package's surface, listed in full: adding or removing a name is a decision this file records.
 * What a user needs: the plugin, its decorator, option, handler, event and context types; the error codes;
 * the client and the worker; the stores and the store interface (for a store of one's own); the
 * diagnostics channels and their messages; the callback URL helpers; the lists the event names derive from.
 */
test('the public runtime exports are exactly these', async (t) => {
  t.same(Object.keys(pkg).sort(), [
    'BATCH_STATES', 'DEFAULT_SUPERAI_BASE_URL', 'DELIVERY_CHANNEL', 'EVENT_NAMES', 'HANDLE_CHANNEL', 'JOB_ACTIONS', 'JOB_STATES',
    'MemoryStore', 'RedisStore', 'canonicalJson', 'checkCallbackUrl', 'codes', 'createSuperaiClient', 'createSuperaiWorker', 'default',
    'defaultIdempotencyKey', 'isEntityEvent', 'isSuperaiApiError', 'isValidCallbackUrl', 'signCallback', 'superaiCallbacks', 'validateCallbackUrl'
  ])
  t.equal(pkg.default, pkg.superaiCallbacks)
})

test('the public type exports are exactly these', async (t) => {
  const index = fileURLToPath(new URL('../src/index.ts', import.meta.url))
  const program = ts.createProgram([index], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(index)
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source)
  t.ok(module, 'src/index.ts compiled')
  if (module === undefined) return
  const typesOnly = checker.getExportsOfModule(module).filter((symbol) => {
    const target = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol
    return (target.flags & ts.SymbolFlags.Value) === 0
  })
  t.same(typesOnly.map((symbol) => symbol.name).sort(), [
    'ActionEventName', 'AnySuperaiEvent', 'BatchCallbackBody', 'BatchEventName', 'BatchState', 'CallbackBody',
    'CallbackJobData', 'CallbackUrlCheck', 'ClaimResult', 'DeadLetter', 'DeliveryMessage', 'DeliveryOutcome',
    'DeliverySource', 'DownloadJobsQuery', 'EntityEventName', 'EntityType', 'EventCounter', 'EventName',
    'ExportJobsOptions', 'GetJobResponse', 'HandleMessage', 'HandlerContext', 'HttpHandlerContext', 'IdempotencyStore',
    'JobAction', 'JobEventName', 'JobHandlerContext', 'JobOutput', 'JobState', 'JobStatesQuery', 'JobStatus', 'ListJobsQuery', 'MarkedClaimResult',
    'MemoryStoreOptions', 'MethodName', 'QueueHandlerContext', 'ReconcileHandlerContext', 'ReconcileSummary',
    'RedisClusterConfig', 'RedisSentinelOptions', 'RedisStoreOptions', 'RemoveTagsFilter', 'ReplayResult',
    'ReviewJobRequest', 'SecretLocation', 'SignatureKey', 'SignatureOptions', 'SignedCallback', 'StateAnnouncement', 'StateEventName',
    'StateRecord', 'SubmitJobsRequest', 'SuperaiApiError', 'SuperaiApiErrorDetails', 'SuperaiApiOptions',
    'SuperaiBatch', 'SuperaiCallback', 'SuperaiCallbacksOptions', 'SuperaiClient', 'SuperaiClientOptions',
    'SuperaiDeadLetters', 'SuperaiDecorator', 'SuperaiDownloadUrl', 'SuperaiErrorCode', 'SuperaiEvent',
    'SuperaiExportedJob', 'SuperaiHandler', 'SuperaiJob', 'SuperaiJobInput', 'SuperaiJobList', 'SuperaiJobsOperation',
    'SuperaiJobsOperationStart', 'SuperaiQueue', 'SuperaiQueueOptions', 'SuperaiReconcileOptions',
    'SuperaiRequestOptions', 'SuperaiStats', 'SuperaiSubmitJobsResult', 'SuperaiSubscriptions', 'SuperaiTags',
    'SuperaiWorker', 'SuperaiWorkerOptions', 'UnknownValue', 'Unsubscribe',
    'VerifyOptions', 'WaitForOptions', 'WaitResult'
  ])
})

test('the plugin carries fastify-plugin metadata', async (t) => {
  const meta = (pkg.default as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.equal(meta?.name, 'fastify-superai-callbacks')
  t.equal(meta?.fastify, '5.x')
})

test('every error code is FST_SUPERAI_* and constructs a coded error', async (t) => {
  for (const [code, Ctor] of Object.entries(pkg.codes)) {
    t.match(code, /^FST_SUPERAI_[A-Z_]+$/)
    t.equal(new Ctor('a' as never, 1 as never).code, code)
  }
})

test('the sandbox subpath exports exactly these, and the plugin\'s entry point never loads it', async (t) => {
  const sandbox = await import('../src/sandbox/index.js')
  t.same(Object.keys(sandbox).sort(), ['SANDBOX_DEFAULTS', 'apiDate', 'createSandbox'])
  // every module src/index.ts reaches through its static imports
  const { readFileSync } = await import('node:fs')
  const { dirname, resolve } = await import('node:path')
  const reached = new Set<string>()
  const pending = [fileURLToPath(new URL('../src/index.ts', import.meta.url))]
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue
    reached.add(file)
    for (const [, specifier = ''] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^'"]*?from '(\.[^']+)'/gm)) {
      pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
    }
  }
  t.ok(reached.size > 20, `${reached.size} modules reached`)
  t.same([...reached].filter((file) => file.includes('/src/sandbox/') || file.includes('/src/cli/')), [], 'no sandbox or CLI module')
})
