/** `retailflow analytics ...`: run a day, backfill a range, manage the daily schedule. */
import { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { createOrUpdateAnalyticsSchedule, DAILY_SCHEDULE_ID, startBackfill, startDailyAnalytics } from '../../lib/analytics/client';
import type { DailyKpis } from '../../lib/analytics/daily';
import type { PredictionOutcome } from '../../lib/analytics/predictions';
import { formatMoney } from '../../lib/analytics/money';
import { loadConfig } from '../../lib/config';
import { boundedInt, followBackfill, isoDate, pad2, positiveInt } from './common';
import { CliError, rootCauseMessage, uiLink, withTemporalClient } from './temporal';



/** One line: how the promoted model did on the day, or why there is no comparison. */
export function describePredictions(p: PredictionOutcome): string {
  switch (p.status) {
    case 'scored':
      return `predictions: model ${p.modelVersion}, ${p.orders} orders (${p.lines} lines), MAE ${formatMoney(p.mae)}, predicted ${formatMoney(p.predictedTotal)} vs actual ${formatMoney(p.actualTotal)}`;
    case 'no-sales':
      return `predictions: model ${p.modelVersion}, ${p.reason}`;
    case 'no-model':
      return `predictions: none (${p.reason})`;
  }
}

function printKpis(k: DailyKpis): void {
  const rows: Array<[string, string | number]> = [
    ['orders', k.orders], ['gross_revenue', formatMoney(k.gross_revenue)], ['refunds', formatMoney(k.refunds)],
    ['net_revenue', formatMoney(k.net_revenue)], ['cancelled_orders', k.cancelled_orders],
    ['unique_customers', k.unique_customers], ['items_sold', k.items_sold], ['avg_order_value', formatMoney(k.avg_order_value)],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(18)} ${String(value).padStart(12)}`);
}

export function analyticsCommand(): Command {
  const cmd = new Command('analytics').description('Daily KPIs as Temporal workflows (needs the platform running: npm start).');

  cmd.command('run')
    .description('Compute, store and publish the KPIs of one day (workflow daily-analytics-<date>).')
    .requiredOption('-d, --date <YYYY-MM-DD>', 'the day to analyse', isoDate)
    .option('--json', 'print the workflow result as JSON', false)
    .action(async (opts: { date: string; json: boolean }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startDailyAnalytics(client, config.temporal.taskQueue, opts.date);
        if (!opts.json) console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        try {
          const result = await handle.result();
          if (opts.json) return console.log(JSON.stringify(result, null, 2));
          console.log(`KPIs for ${result.date}:`);
          printKpis(result.kpis);
          console.log(`wrote ${result.csvPath}; event ${result.eventMessageId}`);
          console.log(describePredictions(result.predictions));
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw new CliError(`${handle.workflowId} failed: ${rootCauseMessage(err)}`);
          throw err;
        }
      });
    });

  cmd.command('backfill')
    .description('Run the daily workflow for every day with data in a range, with bounded concurrency.')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', isoDate)
    .requiredOption('--to <YYYY-MM-DD>', 'last day (inclusive)', isoDate)
    .option('-c, --concurrency <n>', 'days running at once', positiveInt, 16)
    .action(async (opts: { from: string; to: string; concurrency: number }) => {
      if (opts.from > opts.to) throw new CliError(`--from ${opts.from} is after --to ${opts.to}`);
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startBackfill(client, config.temporal.taskQueue, { from: opts.from, to: opts.to, concurrency: opts.concurrency });
        console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        const result = await followBackfill(handle, 'backfill');
        console.log(`backfill ${opts.from}..${opts.to}: ${result.done}/${result.total} days done, ${result.failed} failed`);
        for (const f of result.failedDays) console.log(`  ${f.date}: ${f.error}`);
        if (result.total === 0) throw new CliError(`no data between ${opts.from} and ${opts.to}: load it first with "retailflow ingest"`);
        if (result.failed > 0) process.exitCode = 1;
      });
    });

  cmd.addCommand(scheduleCommand());
  return cmd;
}


function scheduleCommand(): Command {
  const cmd = new Command('schedule').description(`Manage the Temporal Schedule "${DAILY_SCHEDULE_ID}" (each run analyses the previous day).`);
  const withHandle = (fn: (h: ReturnType<import('@temporalio/client').ScheduleClient['getHandle']>) => Promise<void>) => async () => {
    const config = loadConfig();
    await withTemporalClient(config, (client) => fn(client.schedule.getHandle(DAILY_SCHEDULE_ID)));
  };

  cmd.command('create')
    .description('Create the daily schedule, or update it if it exists (idempotent).')
    .option('--hour <0-23>', 'UTC hour of the daily run', (v) => boundedInt(v, 0, 23), 1)
    .option('--minute <0-59>', 'minute of the daily run', (v) => boundedInt(v, 0, 59), 0)
    .action(async (opts: { hour: number; minute: number }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const { created } = await createOrUpdateAnalyticsSchedule(client, { taskQueue: config.temporal.taskQueue, ...opts });
        console.log(`schedule ${DAILY_SCHEDULE_ID} ${created ? 'created' : 'updated'}: daily at ${pad2(opts.hour)}:${pad2(opts.minute)} UTC, overlap SKIP, catch-up window 3 days`);
      });
    });
  cmd.command('pause').description('Pause the schedule.').action(withHandle(async (h) => {
    await h.pause('paused from the retailflow CLI');
    console.log(`schedule ${DAILY_SCHEDULE_ID} paused`);
  }));
  cmd.command('unpause').description('Resume the schedule.').action(withHandle(async (h) => {
    await h.unpause('resumed from the retailflow CLI');
    console.log(`schedule ${DAILY_SCHEDULE_ID} resumed`);
  }));
  cmd.command('trigger').description('Start one run now (it analyses yesterday).').action(withHandle(async (h) => {
    await h.trigger();
    console.log(`schedule ${DAILY_SCHEDULE_ID} triggered`);
  }));
  cmd.command('describe').description('Show the schedule state and recent runs.').action(withHandle(async (h) => {
    const d = await h.describe();
    console.log(`schedule ${DAILY_SCHEDULE_ID}: ${d.state.paused ? 'paused' : 'active'}, next runs ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ')}`);
    for (const a of d.info.recentActions) console.log(`  ${a.takenAt.toISOString()} -> ${a.action.workflow.workflowId}`);
  }));
  cmd.command('delete').description('Delete the schedule (running workflows are not affected).').action(withHandle(async (h) => {
    await h.delete();
    console.log(`schedule ${DAILY_SCHEDULE_ID} deleted`);
  }));
  return cmd;
}


