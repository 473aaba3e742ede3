/**
 * Starting and scheduling the per-day workflows (daily analytics, data quality) the same way.
 *
 * ID policy for a day: the workflow ID is a business key `<prefix>-<date>`.
 * - conflict USE_EXISTING: starting a date that is already running attaches to that run, so two
 *   starters (CLI, an Airflow retry, a backfill) never create two runs of one day;
 * - reuse ALLOW_DUPLICATE: a finished day may be run again on purpose; the stores upsert by date.
 */
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleHandle,
  ScheduleOptions,
  ScheduleOverlapPolicy,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowStartOptions,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { assertIsoDate } from '../analytics/daily';
import { AnalyticsDate } from './search-attributes';

/** A workflow that takes `{ date? }`: without a date it works on the day before its scheduled time. */
export type PerDayWorkflow = (input?: { date?: string }) => Promise<unknown>;

export async function startPerDayWorkflow<W extends PerDayWorkflow>(
  client: Client,
  opts: { workflow: W; workflowId: string; taskQueue: string; date: string },
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  assertIsoDate(opts.date);
  const options: WorkflowStartOptions<PerDayWorkflow> = {
    taskQueue: opts.taskQueue,
    args: [{ date: opts.date }],
    workflowId: opts.workflowId,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: AnalyticsDate, value: new Date(`${opts.date}T00:00:00Z`) }],
  };
  // Every W takes `{ date }` (the constraint says so); TypeScript cannot narrow Parameters<W> by itself.
  return client.workflow.start(opts.workflow, options as unknown as WorkflowStartOptions<W>);
}

export interface DailyScheduleSpec {
  scheduleId: string;
  workflow: PerDayWorkflow;
  taskQueue: string;
  /** UTC time of the daily run. */
  hour: number;
  minute: number;
}

function scheduleOptions(s: DailyScheduleSpec): ScheduleOptions {
  return {
    scheduleId: s.scheduleId,
    spec: { calendars: [{ hour: s.hour, minute: s.minute }] },
    action: {
      type: 'startWorkflow',
      workflowType: s.workflow,
      // No date: each run works on the calendar day before its scheduled time.
      args: [{}],
      taskQueue: s.taskQueue,
      workflowId: `${s.scheduleId}-scheduled`,
    },
    policies: {
      // A day still running when the next is due: skip, do not pile up (backfills are separate).
      overlap: ScheduleOverlapPolicy.SKIP,
      // After an outage, catch up on at most the last 3 days of missed runs.
      catchupWindow: '3 days',
    },
  };
}

/** Create the schedule, or update it to these settings if it exists: safe on every deploy. */
export async function createOrUpdateDailySchedule(
  client: Client,
  spec: DailyScheduleSpec,
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  const options = scheduleOptions(spec);
  try {
    return { handle: await client.schedule.create(options), created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(spec.scheduleId);
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
    return { handle, created: false };
  }
}
