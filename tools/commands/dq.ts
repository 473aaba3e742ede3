/** `retailflow dq ...`: check a day, report stored results, manage the daily data-quality schedule. */
import { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { startBackfill } from '../../lib/analytics/client';
import { loadConfig } from '../../lib/config';
import { createOrUpdateDqSchedule, DQ_SCHEDULE_ID, startDataQuality } from '../../lib/quality/client';
import { DqDaySummary, dqReport } from '../../lib/quality/results';
import type { Severity } from '../../lib/quality/thresholds';
import type { DataQualityResult } from '../../workflows/quality';
import { boundedInt, followBackfill, isoDate, pad2, positiveInt, withWarehouse } from './common';
import { CliError, rootCauseMessage, uiLink, withTemporalClient } from './temporal';


const MARK: Record<Severity, string> = { pass: '.', warn: 'W', fail: 'F' };

function printRun(r: DataQualityResult): void {
  console.log(`data quality ${r.date}: ${r.status.toUpperCase()} (${r.counts.pass} pass, ${r.counts.warn} warn, ${r.counts.fail} fail)`);
  for (const c of r.results) {
    const value = c.observed === null ? '-' : String(+c.observed.toFixed(4));
    console.log(`  ${c.severity.padEnd(4)} ${`${c.source === 'orders_raw' ? '' : 'stream:'}${c.check}`.padEnd(40)} ${value.padStart(10)}  ${c.detail}`);
  }
}

/** Checks as columns (numbered, legend below), days as rows, worst days first. */
function printReport(days: DqDaySummary[], limit: number): void {
  const checks = [...new Set(days.flatMap((d) => Object.keys(d.checks)))].sort();
  console.log(`${'date'.padEnd(10)}  worst  fail  warn  ${checks.map((_, i) => String(i + 1).padStart(2)).join(' ')}`);
  for (const d of days.slice(0, limit)) {
    const cells = checks.map((c) => MARK[d.checks[c] ?? 'pass'].padStart(2)).join(' ');
    console.log(`${d.date}  ${d.worst.padEnd(5)}  ${String(d.fails).padStart(4)}  ${String(d.warns).padStart(4)}  ${cells}`);
  }
  if (days.length > limit) console.log(`... ${days.length - limit} more days (use --limit)`);
  checks.forEach((c, i) => console.log(`  ${String(i + 1).padStart(2)} ${c}`));
}

export function dqCommand(): Command {
  const cmd = new Command('dq').description('Data-quality checks as Temporal workflows (results in dq_results, alerts on dq-alerts).');

  cmd.command('run')
    .description('Run the checks of one day (workflow data-quality-<date>); exit 1 when a check fails.')
    .requiredOption('-d, --date <YYYY-MM-DD>', 'the day to check', isoDate)
    .option('--json', 'print the workflow result as JSON', false)
    .action(async (opts: { date: string; json: boolean }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startDataQuality(client, config.temporal.taskQueue, opts.date);
        if (!opts.json) console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        let result: DataQualityResult;
        try {
          result = await handle.result();
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw new CliError(`${handle.workflowId} failed: ${rootCauseMessage(err)}`);
          throw err;
        }
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else printRun(result);
        if (result.status === 'failed') process.exitCode = 1;
      });
    });

  cmd.command('backfill')
    .description('Check every day with data in a range: the generic backfill with the data-quality workflow.')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', isoDate)
    .requiredOption('--to <YYYY-MM-DD>', 'last day (inclusive)', isoDate)
    .option('-c, --concurrency <n>', 'days running at once', (v) => boundedInt(v, 1, 64), 8)
    .action(async (opts: { from: string; to: string; concurrency: number }) => {
      if (opts.from > opts.to) throw new CliError(`--from ${opts.from} is after --to ${opts.to}`);
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startBackfill(client, config.temporal.taskQueue, { workflow: 'dataQualityWorkflow', ...opts });
        console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        const result = await followBackfill(handle, 'dq backfill');
        console.log(`data-quality backfill ${opts.from}..${opts.to}: ${result.done}/${result.total} days checked, ${result.failed} could not run`);
        for (const f of result.failedDays) console.log(`  ${f.date}: ${f.error}`);
        console.log(`see the findings with: retailflow dq report --from ${opts.from} --to ${opts.to}`);
        if (result.total === 0) throw new CliError(`no data between ${opts.from} and ${opts.to}: load it first with "retailflow ingest"`);
        if (result.failed > 0) process.exitCode = 1;
      });
    });

  cmd.command('report')
    .description('Show stored results as a table of checks by day, worst days first (reads the warehouse).')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', isoDate)
    .requiredOption('--to <YYYY-MM-DD>', 'last day (inclusive)', isoDate)
    .option('--limit <n>', 'days shown', positiveInt, 30)
    .action(async (opts: { from: string; to: string; limit: number }) => {
      if (opts.from > opts.to) throw new CliError(`--from ${opts.from} is after --to ${opts.to}`);
      const days = await withWarehouse(loadConfig(), (wh) => dqReport(wh, opts.from, opts.to));
      if (days.length === 0) throw new CliError(`no data-quality results between ${opts.from} and ${opts.to}: run "retailflow dq run" or a backfill first`);
      printReport(days, opts.limit);
    });

  cmd.addCommand(scheduleCommand());
  return cmd;
}


function scheduleCommand(): Command {
  const cmd = new Command('schedule').description(`Manage the Temporal Schedule "${DQ_SCHEDULE_ID}" (each run checks the previous day).`);
  const withHandle = (verb: string, fn: (h: ReturnType<import('@temporalio/client').ScheduleClient['getHandle']>) => Promise<unknown>) => async () => {
    const config = loadConfig();
    await withTemporalClient(config, async (client) => {
      await fn(client.schedule.getHandle(DQ_SCHEDULE_ID));
      console.log(`schedule ${DQ_SCHEDULE_ID} ${verb}`);
    });
  };
  cmd.command('create')
    .description('Create the daily schedule, or update it if it exists (idempotent).')
    .option('--hour <0-23>', 'UTC hour of the daily run', (v) => boundedInt(v, 0, 23), 2)
    .option('--minute <0-59>', 'minute of the daily run', (v) => boundedInt(v, 0, 59), 0)
    .action(async (opts: { hour: number; minute: number }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const { created } = await createOrUpdateDqSchedule(client, { taskQueue: config.temporal.taskQueue, ...opts });
        console.log(`schedule ${DQ_SCHEDULE_ID} ${created ? 'created' : 'updated'}: daily at ${pad2(opts.hour)}:${pad2(opts.minute)} UTC, overlap SKIP, catch-up window 3 days`);
      });
    });
  cmd.command('pause').description('Pause the schedule.').action(withHandle('paused', (h) => h.pause('paused from the retailflow CLI')));
  cmd.command('unpause').description('Resume the schedule.').action(withHandle('resumed', (h) => h.unpause('resumed from the retailflow CLI')));
  cmd.command('trigger').description('Start one run now (it checks yesterday).').action(withHandle('triggered', (h) => h.trigger()));
  cmd.command('delete').description('Delete the schedule (running workflows are not affected).').action(withHandle('deleted', (h) => h.delete()));
  return cmd;
}


