/**
 * The per-day pattern on the client side, written once for every per-day workflow (daily
 * analytics, data quality, ...): start or attach to one day, and manage its daily Schedule.
 * Backfills over a range are in clients/backfill.ts.
 *
 * ID policy for a day: the workflow ID is a business key `<prefix>-<date>` (lib/temporal/contract.ts).
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
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { assertIsoDate, dateToUtcMidnight } from '../lib/dates';
import {
  AnalyticsDate,
  PER_DAY_WORKFLOWS,
  perDayWorkflowId,
  scheduledWorkflowIdPrefix,
  type DailyAnalyticsResult,
  type DataQualityResult,
  type PerDayInput,
  type PerDayWorkflowType,
} from '../lib/temporal/contract';

/** The result type of each per-day workflow, for typed handles without importing workflow code. */
/** With an explicit date a run never ends in a NoDataOutcome (only a Schedule's runs do), so these are exact for startDay. */
export interface PerDayResults {
  dailyAnalyticsWorkflow: DailyAnalyticsResult;
  dataQualityWorkflow: DataQualityResult;
}
export type PerDayWorkflowFn<W extends PerDayWorkflowType> = (input?: PerDayInput) => Promise<PerDayResults[W]>;
export type PerDayHandle<W extends PerDayWorkflowType> = WorkflowHandleWithFirstExecutionRunId<PerDayWorkflowFn<W>>;

export function startDay<W extends PerDayWorkflowType>(
  client: Client,
  opts: { workflow: W; taskQueue: string; date: string },
): Promise<PerDayHandle<W>> {
  assertIsoDate(opts.date);
  return client.workflow.start<PerDayWorkflowFn<W>>(opts.workflow, {
    taskQueue: opts.taskQueue,
    args: [{ date: opts.date }],
    workflowId: perDayWorkflowId(opts.workflow, opts.date),
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: AnalyticsDate, value: dateToUtcMidnight(opts.date) }],
    // The Web UI's summary column: what this run is, before it has said anything itself.
    staticSummary: `${PER_DAY_WORKFLOWS[opts.workflow].label} ${opts.date}`,
    staticDetails: `One run per business day (ID ${perDayWorkflowId(opts.workflow, opts.date)}): starting it again while it runs attaches to this run; a finished day may be re-run and its rows are replaced.`,
  });
}

export const startDailyAnalytics = (client: Client, taskQueue: string, date: string) =>
  startDay(client, { workflow: 'dailyAnalyticsWorkflow', taskQueue, date });

export const startDataQuality = (client: Client, taskQueue: string, date: string) =>
  startDay(client, { workflow: 'dataQualityWorkflow', taskQueue, date });

// ---------------------------------------------------------------------------------------------
// The daily Schedule of a per-day workflow.

export interface DailyScheduleSettings {
  taskQueue: string;
  /** UTC time of the daily run; default the workflow's own (PER_DAY_WORKFLOWS). */
  hour?: number;
  minute?: number;
}

export function scheduleIdOf(workflow: PerDayWorkflowType): string {
  return PER_DAY_WORKFLOWS[workflow].scheduleId;
}

export function dailyScheduleOptions(workflow: PerDayWorkflowType, s: DailyScheduleSettings): ScheduleOptions {
  return {
    scheduleId: scheduleIdOf(workflow),
    spec: { calendars: [{ hour: s.hour ?? PER_DAY_WORKFLOWS[workflow].scheduleHourUtc, minute: s.minute ?? 0 }] },
    action: {
      type: 'startWorkflow',
      workflowType: workflow,
      // No date: each run works on the calendar day before its scheduled time.
      args: [{}],
      taskQueue: s.taskQueue,
      workflowId: scheduledWorkflowIdPrefix(workflow),
    },
    policies: {
      // A day still running when the next is due: skip, do not pile up (backfills are separate).
      overlap: ScheduleOverlapPolicy.SKIP,
      // After an outage, catch up on at most the last 3 days of missed runs.
      catchupWindow: '3 days',
    },
  };
}

/** Create the Schedule, or update it to these settings if it exists: safe on every deploy. */
export async function createOrUpdateDailySchedule(
  client: Client,
  workflow: PerDayWorkflowType,
  settings: DailyScheduleSettings,
): Promise<{ handle: ScheduleHandle; created: boolean }> {
  return createOrUpdateSchedule(client, dailyScheduleOptions(workflow, settings));
}

/** Idempotent create: a second create throws ScheduleAlreadyRunning, so update instead. */
export async function createOrUpdateSchedule(client: Client, options: ScheduleOptions): Promise<{ handle: ScheduleHandle; created: boolean }> {
  try {
    return { handle: await client.schedule.create(options), created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(options.scheduleId);
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: options.policies }));
    return { handle, created: false };
  }
}
