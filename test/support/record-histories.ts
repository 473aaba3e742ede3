/**
 * Records the workflow histories that test/workflow-replay.test.ts replays: each scenario below runs
 * once on a throwaway local dev server, with the mocked activities of test/support/mock-activities.ts,
 * against the workflows of a given checkout, and is written as `<outDir>/<scenario>[.<tag>].json`
 * (`JSON.stringify(await handle.fetchHistory())`; a backfill writes one file per run).
 *
 *   npx ts-node test/support/record-histories.ts <outDir> [--checkout DIR] [--only a,b] [--tag TAG]
 *
 * --checkout  a tree whose workflows/ is bundled (default: this one). Record from a snapshot, not
 *             from a tree being edited: `git worktree add /tmp/rf-snap HEAD`, then link
 *             node_modules into it (`ln -s "$PWD/node_modules" /tmp/rf-snap/`) so webpack
 *             resolves @temporalio/workflow there.
 * --only      names of the scenarios to record (below); default all.
 * --tag       added to the file names, e.g. `--tag before-write-model-info`.
 *
 * Only the workflow code comes from the checkout: the mocks, the server and this script are this
 * tree's, so an older commit can be recorded as long as its workflow types take these inputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { fakeDailyReport, mockActivities, MockOptions } from './mock-activities';
import { continuedAsNewRunId, createLocalTestEnv, writeHistoryFile } from './workflow-test-env';

interface Scenario {
  name: string;
  workflowType: string;
  args: unknown[];
  mocks?: MockOptions;
  /** The run is expected to fail (its failure is part of the history). */
  fails?: boolean;
}

const BACKFILL_DAYS = ['2011-12-05', '2011-12-06', '2011-12-07', '2011-12-08', '2011-12-09'];

export const SCENARIOS: Scenario[] = [
  { name: 'ingestWorkflow', workflowType: 'ingestWorkflow', args: [{ file: '/data/online_retail.csv.gz' }] },
  { name: 'dailyAnalyticsWorkflow', workflowType: 'dailyAnalyticsWorkflow', args: [{ date: '2011-12-09' }] },
  {
    name: 'dailyAnalyticsWorkflow-no-data', workflowType: 'dailyAnalyticsWorkflow', args: [{ date: '2011-12-25' }], fails: true,
    mocks: { overrides: { computeDailyReport: async () => { throw ApplicationFailure.create({ message: 'no order lines on 2011-12-25 in orders_raw', type: 'NoDataForDateError' }); } } },
  },
  {
    // A Schedule's run (no date) of an empty day: completes with outcome no-data (patch scheduled-no-data-outcome).
    name: 'dailyAnalyticsWorkflow-scheduled-no-data', workflowType: 'dailyAnalyticsWorkflow', args: [{ day: 'yesterday', timeZone: 'Europe/London' }],
    mocks: { overrides: { computeDailyReport: async () => { throw ApplicationFailure.create({ message: 'no order lines in orders_raw', type: 'NoDataForDateError' }); } } },
  },
  { name: 'intradayRefreshWorkflow', workflowType: 'intradayRefreshWorkflow', args: [{ timeZone: 'Europe/London' }] },
  { name: 'dataQualityWorkflow', workflowType: 'dataQualityWorkflow', args: [{ date: '2011-12-09' }], mocks: { dqSeverities: ['pass', 'warn', 'pass'] } },
  { name: 'trainingWorkflow', workflowType: 'trainingWorkflow', args: [{ boundary: '2011-11-01', params: { nTrees: 5 } }] },
  {
    name: 'trainingWorkflow-model-info-failed', workflowType: 'trainingWorkflow', args: [{ boundary: '2011-11-01', params: { nTrees: 5 } }],
    mocks: { promote: false, overrides: { writeModelInfo: async () => { throw ApplicationFailure.nonRetryable('no registry markers', 'ModelInfoError'); } } },
  },
  {
    // Two children at a time, two per run: three runs joined by continue-as-new, one failed day.
    name: 'backfillWorkflow', workflowType: 'backfillWorkflow',
    args: [{ from: BACKFILL_DAYS[0], to: BACKFILL_DAYS[4], concurrency: 2, maxChildrenPerRun: 2 }],
    mocks: {
      dates: BACKFILL_DAYS,
      overrides: {
        computeDailyReport: async ({ date }: { date: string }) => {
          if (date === BACKFILL_DAYS[2]) throw ApplicationFailure.nonRetryable(`no order lines on ${date} in orders_raw`, 'NoDataForDateError');
          return fakeDailyReport(date);
        },
      },
    },
  },
];

function parseArgs(argv: string[]): { outDir: string; checkout: string; only?: string[]; tag?: string } {
  const [outDir, ...rest] = argv;
  if (!outDir || outDir.startsWith('--')) throw new Error('usage: record-histories.ts <outDir> [--checkout DIR] [--only a,b] [--tag TAG]');
  const opts: { outDir: string; checkout: string; only?: string[]; tag?: string } = { outDir: path.resolve(outDir), checkout: path.resolve(__dirname, '..', '..') };
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, value] = [rest[i], rest[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--checkout') opts.checkout = path.resolve(value);
    else if (flag === '--only') opts.only = value.split(',');
    else if (flag === '--tag') opts.tag = value;
    else throw new Error(`unknown option ${flag}`);
  }
  return opts;
}

async function main(): Promise<void> {
  const { outDir, checkout, only, tag } = parseArgs(process.argv.slice(2));
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  if (scenarios.length === 0) throw new Error(`no scenario matches --only ${only?.join(',')}`);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  fs.mkdirSync(outDir, { recursive: true });
  const workflowsPath = require.resolve(path.join(checkout, 'workflows'));
  const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error };
  const [env, bundle] = await Promise.all([createLocalTestEnv(), bundleWorkflowCode({ workflowsPath, logger: silent })]);
  try {
    for (const s of scenarios) {
      const mocks = mockActivities(s.mocks);
      const taskQueue = `record-${s.name}`;
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: mocks.activities });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(s.workflowType, { taskQueue, workflowId: `replay-${s.name}`, args: s.args });
        const outcome = await handle.result().then(() => 'completed', (err: Error) => `failed: ${err.cause instanceof Error ? err.cause.message : err.message}`);
        if ((outcome !== 'completed') !== !!s.fails) throw new Error(`${s.name}: ${outcome}`);
        // One file per run; a run that continued as new names the next.
        const runs: string[] = [];
        for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
          const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
          runs.push(runId);
          const next = continuedAsNewRunId(history);
          const base = next || runs.length > 1 ? `${s.name}-run${runs.length}` : s.name;
          const file = path.join(outDir, `${base}${tag ? `.${tag}` : ''}.json`);
          writeHistoryFile(file, history);
          console.log(`${file}: ${s.workflowType}, ${history.events?.length} events${next ? ', continued as new' : `, ${outcome}`}`);
          runId = next;
        }
      });
    }
  } finally {
    await env.teardown();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
