/** `retailflow dq ...`: check a day, report stored results, manage the daily data-quality schedule. */
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config';
import { DqDaySummary, dqReport } from '../../lib/quality/results';
import type { Severity } from '../../lib/quality/thresholds';
import type { DataQualityResult } from '../../lib/temporal/contract';
import { CliError, isoDate, positiveInt, withWarehouse } from './common';
import { perDayCommand } from './per-day';


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
  const cmd = perDayCommand({
    name: 'dq',
    workflow: 'dataQualityWorkflow',
    description: 'Data-quality checks as Temporal workflows (results in dq_results, alerts on dq-alerts).',
    run: {
      description: 'Run the checks of one day (workflow data-quality-<date>); exit 1 when a check fails.',
      dateHelp: 'the day to check',
      print: printRun,
      exitCode: (result) => (result.status === 'failed' ? 1 : 0),
    },
    backfill: {
      description: 'Check every day with data in a range: the generic backfill with the data-quality workflow.',
      label: 'dq backfill',
      defaultConcurrency: 8,
      summary: (r, from, to) => `data-quality backfill ${from}..${to}: ${r.done}/${r.total} days checked, ${r.failed} could not run`,
      hint: (from, to) => `see the findings with: retailflow dq report --from ${from} --to ${to}`,
    },
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

  return cmd;
}
