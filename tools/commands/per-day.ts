/**
 * One command factory for every per-day workflow: `run`, `backfill` and
 * `schedule create|describe|pause|unpause|trigger|delete`. `retailflow analytics` and
 * `retailflow dq` are built by it; a new per-day workflow gets the same commands from one spec.
 */
import { Command } from 'commander';
import { WorkflowFailedError, type ScheduleHandle } from '@temporalio/client';
import { followBackfill, startBackfill } from '../../clients/backfill';
import { uiLink, withTemporalClient } from '../../clients/connection';
import { createOrUpdateDailySchedule, scheduleIdOf, startDay, type PerDayResults } from '../../clients/per-day';
import { loadConfig } from '../../lib/config';
import { rootCauseMessage } from '../../lib/errors';
import { PER_DAY_WORKFLOWS, type BackfillResult, type PerDayWorkflowType } from '../../lib/temporal/contract';
import { boundedInt, CliError, isoDate, pad2 } from './common';

export interface PerDayCommandSpec<W extends PerDayWorkflowType> {
  /** The command's name: `retailflow <name> run|backfill|schedule`. */
  name: string;
  workflow: W;
  description: string;
  run: {
    description: string;
    /** Help text of --date, e.g. "the day to analyse". */
    dateHelp: string;
    print(result: PerDayResults[W]): void;
    /** Exit code of a run that completed; default 0. */
    exitCode?(result: PerDayResults[W]): number;
  };
  backfill: {
    description: string;
    /** Progress bar label. */
    label: string;
    defaultConcurrency: number;
    /** The summary lines after the failed days. */
    summary(result: BackfillResult, from: string, to: string): string;
    hint?(from: string, to: string): string;
  };
}

export function perDayCommand<W extends PerDayWorkflowType>(spec: PerDayCommandSpec<W>): Command {
  const cmd = new Command(spec.name).description(spec.description);
  cmd.addCommand(runCommand(spec));
  cmd.addCommand(backfillCommand(spec));
  cmd.addCommand(scheduleCommand(spec.workflow));
  return cmd;
}

function runCommand<W extends PerDayWorkflowType>(spec: PerDayCommandSpec<W>): Command {
  return new Command('run')
    .description(spec.run.description)
    .requiredOption('-d, --date <YYYY-MM-DD|today|yesterday>', spec.run.dateHelp, isoDate)
    .option('--json', 'print the workflow result as JSON', false)
    .action(async (opts: { date: string; json: boolean }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startDay(client, { workflow: spec.workflow, taskQueue: config.temporal.taskQueue, date: opts.date });
        if (!opts.json) console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        let result: PerDayResults[W];
        try {
          result = await handle.result();
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw new CliError(`${handle.workflowId} failed: ${rootCauseMessage(err)}`);
          throw err;
        }
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else spec.run.print(result);
        const code = spec.run.exitCode?.(result) ?? 0;
        if (code !== 0) process.exitCode = code;
      });
    });
}

function backfillCommand<W extends PerDayWorkflowType>(spec: PerDayCommandSpec<W>): Command {
  return new Command('backfill')
    .description(spec.backfill.description)
    .requiredOption('--from <YYYY-MM-DD>', 'first day', isoDate)
    .requiredOption('--to <YYYY-MM-DD>', 'last day (inclusive)', isoDate)
    .option('-c, --concurrency <n>', 'days running at once (1-64)', (v) => boundedInt(v, 1, 64), spec.backfill.defaultConcurrency)
    .action(async (opts: { from: string; to: string; concurrency: number }) => {
      if (opts.from > opts.to) throw new CliError(`--from ${opts.from} is after --to ${opts.to}`);
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const handle = await startBackfill(client, config.temporal.taskQueue, { workflow: spec.workflow, ...opts });
        console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        const result = await followBackfill(handle, spec.backfill.label);
        console.log(spec.backfill.summary(result, opts.from, opts.to));
        for (const f of result.failedDays) console.log(`  ${f.date}: ${f.error}`);
        if (spec.backfill.hint) console.log(spec.backfill.hint(opts.from, opts.to));
        if (result.total === 0) throw new CliError(`no data between ${opts.from} and ${opts.to}: load it first with "retailflow ingest"`);
        if (result.failed > 0) process.exitCode = 1;
      });
    });
}

function scheduleCommand(workflow: PerDayWorkflowType): Command {
  const id = scheduleIdOf(workflow);
  const { verb, scheduleHourUtc } = PER_DAY_WORKFLOWS[workflow];
  const cmd = new Command('schedule').description(`Manage the Temporal Schedule "${id}" (each run ${verb} the previous day).`);
  const onSchedule = (fn: (h: ScheduleHandle) => Promise<string>) => async () => {
    const config = loadConfig();
    await withTemporalClient(config, async (client) => console.log(await fn(client.schedule.getHandle(id))));
  };

  cmd.command('create')
    .description('Create the daily schedule, or update it if it exists (idempotent).')
    .option('--hour <0-23>', 'UTC hour of the daily run', (v) => boundedInt(v, 0, 23), scheduleHourUtc)
    .option('--minute <0-59>', 'minute of the daily run', (v) => boundedInt(v, 0, 59), 0)
    .action(async (opts: { hour: number; minute: number }) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        const { created } = await createOrUpdateDailySchedule(client, workflow, { taskQueue: config.temporal.taskQueue, ...opts });
        console.log(`schedule ${id} ${created ? 'created' : 'updated'}: daily at ${pad2(opts.hour)}:${pad2(opts.minute)} UTC, overlap SKIP, catch-up window 3 days`);
      });
    });
  cmd.command('describe').description('Show the schedule state, next runs and recent runs.').action(onSchedule(async (h) => {
    const d = await h.describe();
    const next = d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ');
    const recent = d.info.recentActions.map((a) => `\n  ${a.takenAt.toISOString()} -> ${a.action.workflow.workflowId}`).join('');
    return `schedule ${id}: ${d.state.paused ? 'paused' : 'active'}, next runs ${next}${recent}`;
  }));
  cmd.command('pause').description('Pause the schedule.').action(onSchedule(async (h) => {
    await h.pause('paused from the retailflow CLI');
    return `schedule ${id} paused`;
  }));
  cmd.command('unpause').description('Resume the schedule.').action(onSchedule(async (h) => {
    await h.unpause('resumed from the retailflow CLI');
    return `schedule ${id} resumed`;
  }));
  cmd.command('trigger').description(`Start one run now (it ${verb} yesterday).`).action(onSchedule(async (h) => {
    await h.trigger();
    return `schedule ${id} triggered`;
  }));
  cmd.command('delete').description('Delete the schedule (running workflows are not affected).').action(onSchedule(async (h) => {
    await h.delete();
    return `schedule ${id} deleted`;
  }));
  return cmd;
}
