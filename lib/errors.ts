/**
 * The project's expected failures and the names they travel under.
 *
 * An activity's error reaches the workflow as an ApplicationFailure whose `type` is the error's
 * class name (the SDK reads `constructor.name` first), so every class here is named exactly as its
 * `name`; retry policies list those names as non-retryable (test/contract.test.ts checks both). So the names are part of the
 * Temporal contract (lib/temporal/contract.ts re-exports them) and are spelled once, here.
 *
 * Pure module (no Node imports): workflow code may import it.
 */

export const ErrorType = {
  InvalidDate: 'InvalidDateError',
  NoDataForDate: 'NoDataForDateError',
  InvalidInput: 'InvalidInputError',
  WarehouseSchema: 'WarehouseSchemaError',
  InvalidThresholds: 'InvalidThresholdsError',
  Ingest: 'IngestError',
  TrainingData: 'TrainingDataError',
  ModelRegistry: 'ModelRegistryError',
  ModelStore: 'ModelStoreError',
  ModelInfo: 'ModelInfoError',
  Dependency: 'DependencyUnavailableError',
} as const;
export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/**
 * A failure the user can act on (bad input, missing data, a service that is not running). The CLI
 * prints its message as one line with no stack trace; anything else is a bug and keeps its stack.
 */
export class ExpectedError extends Error {}

export class InvalidDateError extends ExpectedError {
  override readonly name = ErrorType.InvalidDate;
}

/** No order lines at all on that date: nothing to report (Sundays and holidays in this data). */
export class NoDataForDateError extends ExpectedError {
  override readonly name = ErrorType.NoDataForDate;
}

export class InvalidInputError extends ExpectedError {
  override readonly name = ErrorType.InvalidInput;
}

/** A service the command needs is not reachable; the message names it and says what to do. */
export class DependencyUnavailableError extends ExpectedError {
  override readonly name = ErrorType.Dependency;
}

/** The innermost cause: "child failed: activity failed: no order lines" is noise, the last part is what to act on. */
export function rootCause(err: unknown): unknown {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e;
}

export function rootCauseMessage(err: unknown): string {
  const e = rootCause(err);
  return e instanceof Error ? e.message : String(e);
}
