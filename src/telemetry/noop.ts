import type { ApiCallHook, DeliveryTrace, ReconcilePassTrace, Telemetry } from './telemetry.js'

/** One shared object: with the option off a delivery allocates nothing for telemetry. */
export const NO_DELIVERY: DeliveryTrace = Object.freeze({
  enabled: false,
  describe () {},
  link () {},
  within: <T>(run: () => T): T => run(),
  runHandler: <T>(_eventName: string, run: () => Promise<T>): Promise<T> => run(),
  send: <T>(run: (carrier: undefined) => Promise<T>): Promise<T> => run(undefined),
  end () {}
})

const NO_PASS: ReconcilePassTrace = Object.freeze({
  within: <T>(run: () => T): T => run(),
  end () {}
})

const noApiCall: ApiCallHook = (_call, run) => run()

/** The `telemetry` option off: each method runs what it is given. */
export const NO_TELEMETRY: Telemetry = Object.freeze({
  enabled: false,
  startDelivery: () => NO_DELIVERY,
  startReconcilePass: () => NO_PASS,
  apiCall: noApiCall,
  submissionAnchor: () => undefined
})
