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
  Storage: 'StorageError',
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

/**
 * The disk under the warehouse or the data directory is full or read-only. Retryable on purpose
 * (no retry policy lists it): space can be freed and a mount fixed while a workflow waits, and
 * every write that raises it leaves nothing half-written (a rolled-back transaction, a removed
 * temp file), so the retry starts clean.
 */
export class StorageError extends ExpectedError {
  override readonly name = ErrorType.Storage;
}

/** errno codes and the text DuckDB puts in its IO errors (it reports strerror, not the code). */
const STORAGE_PROBLEMS: ReadonlyArray<{ code: string; text: RegExp; says: string }> = [
  { code: 'ENOSPC', text: /no space left on device/i, says: 'no space left on device' },
  { code: 'EDQUOT', text: /disk quota exceeded/i, says: 'disk quota exceeded' },
  { code: 'EROFS', text: /read-only file system/i, says: 'read-only file system' },
  { code: 'EACCES', text: /permission denied/i, says: 'permission denied' },
  { code: 'EPERM', text: /operation not permitted/i, says: 'operation not permitted' },
];

/** "no space left on device" when `err` is a full or read-only disk, else undefined. */
export function storageProblem(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return STORAGE_PROBLEMS.find((p) => p.code === code || p.text.test(err.message))?.says;
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
