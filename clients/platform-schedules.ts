/**
 * The Schedules that make the platform run itself, created or updated idempotently by `npm start`
 * (and `retailflow schedules apply`): the daily analytics of yesterday, data quality after it,
 * the intraday refresh of today, and weekly training. Times are in the shop's zone (SHOP_TIMEZONE).
 */
import type { Client, ScheduleOptions } from '@temporalio/client';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { Config } from '../lib/config';
import { ScheduleId, WorkflowType, type PerDayInput } from '../lib/temporal/contract';
import { createOrUpdateSchedule, dailyScheduleOptions } from './per-day';

export interface AppliedSchedule {
  id: string;
  description: string;
  created: boolean;
  /** The next run, or undefined when paused. */
  nextRun?: Date;
  paused: boolean;
}

export function platformSchedules(config: Config): Array<{ options: ScheduleOptions; description: string }> {
  const { taskQueue } = config.temporal;
  const timeZone = config.shop.timeZone;
  const yesterday: PerDayInput = { day: 'yesterday', timeZone };
  const withArgs = (o: ScheduleOptions, args: unknown[], summary: string): ScheduleOptions => ({
    ...o,
    spec: { ...o.spec, timezone: timeZone },
    action: { ...o.action, args, staticSummary: summary } as ScheduleOptions['action'],
  });
  const every = config.schedules.intradayEveryMinutes;
  return [
    {
      description: `daily analytics of yesterday, 01:00 ${timeZone}`,
      options: withArgs(dailyScheduleOptions('dailyAnalyticsWorkflow', { taskQueue, hour: 1 }), [yesterday], "daily analytics of yesterday (shop time)"),
    },
    {
      description: `data quality of yesterday, 02:00 ${timeZone}`,
      options: withArgs(dailyScheduleOptions('dataQualityWorkflow', { taskQueue, hour: 2 }), [yesterday], 'data quality of yesterday (shop time)'),
    },
    {
      description: `intraday refresh of today, every ${every} min`,
      options: {
        scheduleId: ScheduleId.intradayRefresh,
        spec: { intervals: [{ every: `${every} minutes` }] },
        action: {
          type: 'startWorkflow',
          workflowType: WorkflowType.intradayRefresh,
          args: [{ timeZone }],
          taskQueue,
          workflowId: `${ScheduleId.intradayRefresh}-scheduled`,
          staticSummary: "today's KPIs so far (shop time)",
        },
        // A refresh that overruns the next one: skip it, the next covers the same day.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      },
    },
    {
      description: `weekly training, Monday 03:00 ${timeZone}`,
      options: {
        scheduleId: ScheduleId.weeklyTraining,
        spec: { calendars: [{ dayOfWeek: 'MONDAY', hour: 3, minute: 0 }], timezone: timeZone },
        action: {
          type: 'startWorkflow',
          workflowType: WorkflowType.training,
          args: [{ note: 'weekly schedule' }],
          taskQueue,
          workflowId: `${ScheduleId.weeklyTraining}-scheduled`,
          staticSummary: 'weekly training with gated promotion',
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      },
    },
  ];
}

/** Create or update every platform Schedule; returns each with its next run. Safe to run on every start. */
export async function applyPlatformSchedules(client: Client, config: Config): Promise<AppliedSchedule[]> {
  const applied: AppliedSchedule[] = [];
  for (const { options, description } of platformSchedules(config)) {
    const { handle, created } = await createOrUpdateSchedule(client, options);
    const d = await handle.describe();
    applied.push({ id: options.scheduleId, description, created, nextRun: d.info.nextActionTimes[0], paused: d.state.paused });
  }
  return applied;
}
