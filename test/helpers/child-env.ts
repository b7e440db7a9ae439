/**
 * The environment for a child process that runs our TypeScript through tsx (the CLI, an example, a crash
 * fixture), with tap's coverage switched off. tap's @tapjs/processinfo follows every child process and
 * collects its coverage; a child loads src/ through tsx, whose source maps differ from those of tap's own
 * TypeScript loader, and tap merged both into one report against the wrong map (lines that ran reported
 * as missed). What only the children run is therefore not counted.
 */
export function childEnv (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  // processinfo's own switch, read in the child (it re-adds its NODE_OPTIONS import to every spawn)
  return { ...process.env, ...extra, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
}
