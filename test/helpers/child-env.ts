/**
 * The environment for a child process that runs our TypeScript through tsx (the CLI, an example, a crash
 * fixture). Without NODE_V8_COVERAGE: tap loads src/ through its own TypeScript transform, and coverage the
 * child wrote under tsx's source maps for the same files would be merged into tap's report against the wrong
 * map (lines run reported as missed). What only the children run is therefore not counted.
 */
export function childEnv (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra }
  delete env.NODE_V8_COVERAGE
  return env
}
