/** Backfills of any per-day workflow over a date range: start (or attach), follow with a progress bar. */
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { assertDateRange } from '../lib/dates';
import { progressBar } from '../lib/progress';
import {
  backfillProgressQuery,
  backfillWorkflowId,
  PER_DAY_WORKFLOWS,
  WorkflowType,
  type BackfillInput,
  type BackfillResult,
} from '../lib/temporal/contract';

export type BackfillWorkflowFn = (input: BackfillInput) => Promise<BackfillResult>;

/** A backfill of any per-day workflow over [from, to]; one per range (a second start attaches). */
export async function startBackfill(
  client: Client,
  taskQueue: string,
  input: BackfillInput,
): Promise<WorkflowHandleWithFirstExecutionRunId<BackfillWorkflowFn>> {
  assertDateRange(input.from, input.to);
  return client.workflow.start<BackfillWorkflowFn>(WorkflowType.backfill, {
    taskQueue,
    args: [input],
    workflowId: backfillWorkflowId(input.workflow ?? 'dailyAnalyticsWorkflow', input.from, input.to),
    staticSummary: `backfill ${PER_DAY_WORKFLOWS[input.workflow ?? 'dailyAnalyticsWorkflow'].label} ${input.from}..${input.to}`,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

/** Poll the backfill's progress query into a progress bar (on stderr) until it completes. */
export async function followBackfill(handle: WorkflowHandle<BackfillWorkflowFn>, label: string): Promise<BackfillResult> {
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
