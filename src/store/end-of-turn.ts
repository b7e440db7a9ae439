/** What runs once this turn's I/O callbacks have run: the flushes (which may write), then the uncorks. */
const flushes: Array<() => void> = []
const uncorks: Array<() => void> = []
let scheduled = false

function runEndOfTurn (): void {
  let failure: unknown
  const run = (work: () => void): void => {
    try {
      work()
    } catch (err) {
      failure ??= err
    }
  }
  // what a flush writes joins a socket corked this turn, or corks one whose uncork then runs in this same
  // pass: never a turn later
  while (flushes.length > 0 || uncorks.length > 0) {
    for (let work = flushes.shift(); work !== undefined; work = flushes.shift()) run(work)
    for (let work = uncorks.shift(); work !== undefined; work = uncorks.shift()) run(work)
  }
  scheduled = false
  // every socket was uncorked first: one failing step must not leave the others' commands unsent
  if (failure !== undefined) throw failure
}

/**
 * Defers `work` to the end of this turn of the event loop (one `setImmediate` for all of it, once the
 * turn's I/O callbacks have run, so that the commands of many requests gather). `flush` steps run before
 * `uncork` steps, and steps added while they run run in the same pass.
 */
export function atEndOfTurn (step: 'flush' | 'uncork', work: () => void): void {
  (step === 'flush' ? flushes : uncorks).push(work)
  if (scheduled) return
  scheduled = true
  setImmediate(runEndOfTurn)
}
