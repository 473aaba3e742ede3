/**
 * Client-side operations on the data-quality workflows, with the same ID policies as the daily
 * analytics (lib/analytics/client.ts): ID `data-quality-<date>`, conflict USE_EXISTING (a second
 * starter attaches to the running check), reuse ALLOW_DUPLICATE (a finished day may be re-checked;
 * its dq_results rows are replaced). Backfills use the generic backfill (startBackfill with
 * workflow 'dataQualityWorkflow').
 */
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleHandle,
  ScheduleOptions,
  ScheduleOverlapPolicy,
  WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { assertIsoDate } from '../analytics/daily';
import { AnalyticsDate } from '../temporal/search-attributes';
import { dataQualityWorkflow, dataQualityWorkflowId } from '../../workflows/quality';

export const DQ_SCHEDULE_ID = 'data-quality';

export async function startDataQuality(
  client: Client,
  taskQueue: string,
  date: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dataQualityWorkflow>> {
  assertIsoDate(date);
  return client.workflow.start(dataQualityWorkflow, {
    taskQueue,
    args: [{ date }],
    workflowId: dataQualityWorkflowId(date),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: AnalyticsDate, value: new Date(`${date}T00:00:00Z`) }],
  });
}

export interface DqScheduleSettings {
  taskQueue: string;
  /** UTC hour and minute of the daily run; default 02:00, after the analytics run at 01:00. */
  hour?: number;
  minute?: number;
}

function dqScheduleOptions(s: DqScheduleSettings): ScheduleOptions {
  return {
    scheduleId: DQ_SCHEDULE_ID,
    spec: { calendars: [{ hour: s.hour ?? 2, minute: s.minute ?? 0 }] },
    action: {
      type: 'startWorkflow',
      workflowType: dataQualityWorkflow,
      // No date: each run checks the calendar day before its scheduled time.
      args: [{}],
      taskQueue: s.taskQueue,
      workflowId: 'data-quality-scheduled',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '3 days' },
  };
}

/**
 * Create the daily data-quality schedule, or update it if it exists. Written alongside the
 * analytics one rather than generalising it, so lib/analytics/client.ts callers stay untouched.
 */
export async function createOrUpdateDqSchedule(
  client: Client,
  settings: DqScheduleSettings,
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  const options = dqScheduleOptions(settings);
  try {
    return { handle: await client.schedule.create(options), created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(DQ_SCHEDULE_ID);
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
    return { handle, created: false };
  }
}
