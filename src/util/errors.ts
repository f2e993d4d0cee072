/**
 * The one base of the engine's errors. An error with `userFacing` set says all a user needs in
 * its message: command-line programs print that message on one line, without a stack trace, and
 * exit with its `exitCode` (2 for usage mistakes, 130 for an interruption, 1 otherwise). Any other
 * error is a bug and is printed with its stack. Browser-safe.
 *
 * @module
 */

/** Base class of the engine's errors; subclasses set `name` and, if needed, `exitCode`. */
export class EngineError extends Error {
  /** True when the message alone tells the user what went wrong and how to fix it. */
  readonly userFacing: boolean = true;
  /** The process exit code a command-line program uses for this error. */
  readonly exitCode: number = 1;
}

/**
 * True for an error whose message is meant for the user: an {@link EngineError}, or an `...Error`
 * marked `expected` (how a command wraps a foreign error it knows to be the user's to fix).
 */
export function isUserFacing(error: unknown): error is Error & { exitCode?: number } {
  if (!(error instanceof Error)) return false;
  if ((error as { userFacing?: unknown }).userFacing === true) return true;
  return (error as { expected?: unknown }).expected === true && error.name.endsWith("Error");
}
