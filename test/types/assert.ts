/** Compile-time assertions for the fixtures in this folder; they do nothing at run time. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export const assertType = <T extends true>(_proof?: T): void => {}
