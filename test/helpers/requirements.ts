import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { test, type Test } from 'tap'

/**
 * What a test needs beyond Node, a Redis and `redis-server` on the PATH (the README's "Developing" lists
 * it all). Where it is missing the test reports itself skipped, naming what to install; under CI
 * (`CI=true`, as `.ci/run` runs, which installs everything) a missing requirement fails the run instead,
 * so that nothing CI is meant to check passes unchecked.
 */
export interface Requirement {
  /** What is needed, for the skip reason: "headless Chromium (/usr/bin/chromium)". */
  readonly what: string
  /** How to get it, after "install": "Debian's chromium (apt-get install chromium)". */
  readonly install: string
  /** Whether it is here. */
  readonly found: boolean
}

/** Whether this run is CI's: `CI` set to anything but an empty string, `false` or `0`. */
export const IN_CI = !['', 'false', '0'].includes(process.env.CI ?? '')

/** The reason a test gives when `requirement` is missing. */
export const missing = (requirement: Requirement): string =>
  `needs ${requirement.what}, not found: install ${requirement.install}`

/**
 * `test(name, fn)` for a test that needs `requirement`: run where it is found; where it is missing,
 * skipped with the reason, or failed under CI.
 */
export async function testNeeding (requirement: Requirement, name: string, fn: (t: Test) => Promise<void>): Promise<void> {
  if (requirement.found) {
    await test(name, fn)
  } else if (IN_CI) {
    await test(name, async (t) => { t.fail(`${missing(requirement)} (CI must have it: .ci/run installs it)`) })
  } else {
    await test(name, { skip: missing(requirement) }, fn)
  }
}

/**
 * Inside a running test, for what only trying can tell (a redis-server built without TLS): skips the
 * test with the reason, or fails it under CI. Call it before any assertion.
 */
export function skipOrFail (t: Test, reason: string): void {
  if (IN_CI) t.fail(`${reason} (CI must have it: .ci/run installs it)`)
  else t.plan(0, reason)
}

/** The executable `name` on the PATH, or undefined. */
export function onPath (name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const file = join(dir, name)
    if (isExecutable(file)) return file
  }
  return undefined
}

export function isExecutable (file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
