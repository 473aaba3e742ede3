/**
 * Client-side operations on the analytics workflows, shared by the CLI, the tests and (through
 * the same IDs and policies) the Airflow DAGs.
 *
 * ID policy for a day: the workflow ID is the business key `daily-analytics-<date>`.
 * - conflict USE_EXISTING: starting a date that is already running attaches to that run, so two
 *   starters (CLI, Airflow retry, a backfill) never create two runs of one day;
 * - reuse ALLOW_DUPLICATE: a finished day may be run again on purpose, and the upsert makes the
 *   re-run replace that day's row.
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
import { AnalyticsDate } from '../temporal/search-attributes';
import { dailyAnalyticsWorkflow, dailyAnalyticsWorkflowId } from '../../workflows/analytics';
import { backfillWorkflow, BackfillInput, backfillWorkflowId } from '../../workflows/backfill';
import { assertIsoDate, InvalidDateError } from './daily';

export const DAILY_SCHEDULE_ID = 'daily-analytics';

export async function startDailyAnalytics(
  client: Client,
  taskQueue: string,
  date: string,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof dailyAnalyticsWorkflow>> {
  assertIsoDate(date);
  return client.workflow.start(dailyAnalyticsWorkflow, {
    taskQueue,
    args: [{ date }],
    workflowId: dailyAnalyticsWorkflowId(date),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: AnalyticsDate, value: new Date(`${date}T00:00:00Z`) }],
  });
}

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

export interface DailyScheduleSettings {
  taskQueue: string;
  /** UTC hour and minute of the daily run; default 01:00. */
  hour?: number;
  minute?: number;
}

function dailyScheduleOptions(s: DailyScheduleSettings): ScheduleOptions {
  return {
    scheduleId: DAILY_SCHEDULE_ID,
    spec: { calendars: [{ hour: s.hour ?? 1, minute: s.minute ?? 0 }] },
    action: {
      type: 'startWorkflow',
      workflowType: dailyAnalyticsWorkflow,
      // No date: each run reports on the calendar day before its scheduled time.
      args: [{}],
      taskQueue: s.taskQueue,
      workflowId: 'daily-analytics-scheduled',
    },
    policies: {
      // A day still running when the next is due: skip, do not pile up (backfills use BUFFER_ALL).
      overlap: ScheduleOverlapPolicy.SKIP,
      // After an outage, catch up on at most the last 3 days of missed runs.
      catchupWindow: '3 days',
    },
  };
}

/** Create the daily schedule, or update it to these settings if it exists: safe to run on every deploy. */
export async function createOrUpdateDailySchedule(
  client: Client,
  settings: DailyScheduleSettings,
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  const options = dailyScheduleOptions(settings);
  try {
    return { handle: await client.schedule.create(options), created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(DAILY_SCHEDULE_ID);
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
    return { handle, created: false };
  }
}
