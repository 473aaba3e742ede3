/**
 * Client-side operations on the analytics workflows, shared by the CLI, the tests and (through
 * the same IDs) the Airflow DAGs. ID and schedule policies: lib/temporal/per-day.ts.
 */
import { Client, ScheduleHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { createOrUpdateDailySchedule, startPerDayWorkflow } from '../temporal/per-day';
import { dailyAnalyticsWorkflow, dailyAnalyticsWorkflowId } from '../../workflows/analytics';
import { backfillWorkflow, BackfillInput, backfillWorkflowId } from '../../workflows/backfill';
import { assertIsoDate, InvalidDateError } from './daily';

export const DAILY_SCHEDULE_ID = 'daily-analytics';

export function startDailyAnalytics(
  client: Client,
  taskQueue: string,
  date: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dailyAnalyticsWorkflow>> {
  return startPerDayWorkflow(client, { workflow: dailyAnalyticsWorkflow, workflowId: dailyAnalyticsWorkflowId(date), taskQueue, date });
}

/** A backfill of any per-day workflow over [from, to]; one per range (a second start attaches). */
export async function startBackfill(
  client: Client,
  taskQueue: string,
  input: BackfillInput,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof backfillWorkflow>> {
  assertIsoDate(input.from, 'from');
  assertIsoDate(input.to, 'to');
  if (input.from > input.to) throw new InvalidDateError(`from (${input.from}) is after to (${input.to})`);
  return client.workflow.start(backfillWorkflow, {
    taskQueue,
    args: [input],
    workflowId: backfillWorkflowId(input.workflow ?? 'dailyAnalyticsWorkflow', input.from, input.to),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

/** Daily at 01:00 UTC by default; each run analyses the previous day. Idempotent. */
export function createOrUpdateAnalyticsSchedule(
  client: Client,
  settings: { taskQueue: string; hour?: number; minute?: number },
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  return createOrUpdateDailySchedule(client, {
    scheduleId: DAILY_SCHEDULE_ID,
    workflow: dailyAnalyticsWorkflow,
    taskQueue: settings.taskQueue,
    hour: settings.hour ?? 1,
    minute: settings.minute ?? 0,
  });
}
