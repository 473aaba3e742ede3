/** Helpers every CLI command shares: argument parsers, the warehouse, following a backfill. */
import { InvalidArgumentError } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { assertIsoDate } from '../../lib/analytics/daily';
import type { Config } from '../../lib/config';
import { progressBar } from '../../lib/progress';
import { openWarehouse, Warehouse } from '../../lib/warehouse';
import { backfillProgressQuery, backfillWorkflow, BackfillResult } from '../../workflows/backfill';

export function isoDate(value: string): string {
  try {
    assertIsoDate(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

export function boundedInt(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export const pad2 = (n: number): string => String(n).padStart(2, '0');

export async function withWarehouse<T>(config: Config, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await openWarehouse(config);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** Poll the backfill's progress query into a progress bar until it completes. */
export async function followBackfill(handle: WorkflowHandle<typeof backfillWorkflow>, label: string): Promise<BackfillResult> {
  const resultPromise = handle.result();
  let finished = false;
  void resultPromise.finally(() => (finished = true)).catch(() => undefined);
  let bar: ReturnType<typeof progressBar> | undefined;
  while (!finished) {
    const p = await handle.query(backfillProgressQuery).catch(() => undefined);
    if (p && p.total > 0) (bar ??= progressBar(label, p.total)).update(p.done + p.failed);
    await Promise.race([resultPromise.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  const result = await resultPromise;
  // A short backfill can finish before the first poll: still show where it ended.
  bar ??= progressBar(label, result.total);
  bar.update(result.done + result.failed);
  bar.finish();
  return result;
}
