/**
 * Client-side operations on the data-quality workflows, with the same ID policies as the daily
 * analytics (lib/temporal/per-day.ts): ID `data-quality-<date>`, conflict USE_EXISTING (a second
 * starter attaches to the running check), reuse ALLOW_DUPLICATE (a finished day may be re-checked;
 * its dq_results rows are replaced). Backfills use the generic backfill (startBackfill with
 * workflow 'dataQualityWorkflow').
 */
import { Client, ScheduleHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { createOrUpdateDailySchedule, startPerDayWorkflow } from '../temporal/per-day';
import { dataQualityWorkflow, dataQualityWorkflowId } from '../../workflows/quality';

export const DQ_SCHEDULE_ID = 'data-quality';

export function startDataQuality(
  client: Client,
  taskQueue: string,
  date: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dataQualityWorkflow>> {
  return startPerDayWorkflow(client, { workflow: dataQualityWorkflow, workflowId: dataQualityWorkflowId(date), taskQueue, date });
}

/** Daily at 02:00 UTC by default, after the analytics run at 01:00; each run checks the previous day. */
export function createOrUpdateDqSchedule(
  client: Client,
  settings: { taskQueue: string; hour?: number; minute?: number },
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  return createOrUpdateDailySchedule(client, {
    scheduleId: DQ_SCHEDULE_ID,
    workflow: dataQualityWorkflow,
    taskQueue: settings.taskQueue,
    hour: settings.hour ?? 2,
    minute: settings.minute ?? 0,
  });
}
