/**
 * Replay: the committed histories in test/histories/*.json, recorded from earlier versions of the
 * workflows, must replay against the current workflows/ without non-determinism. A failure here
 * means a change to workflow code would break runs in flight when it is deployed (and the replay of
 * completed ones for queries and resets): guard the change with patched() instead, as
 * trainingWorkflow does for 'write-model-info' (trainingWorkflow.before-write-model-info.json is a
 * run from before that step). Needs no server.
 *
 * Histories are recorded with mocked activities (test/support/record-histories.ts), from a snapshot
 * of the code, never from a tree being edited. To add the histories of the current commit:
 *
 *   git worktree add /tmp/rf-snap HEAD && ln -s "$PWD/node_modules" /tmp/rf-snap/ && ln -s "$PWD/.tools" /tmp/rf-snap/
 *   npx ts-node test/support/record-histories.ts /tmp/rf-histories --checkout /tmp/rf-snap   # --only NAME,... --tag TAG
 *   cp /tmp/rf-histories/<the ones you want> test/histories/   # see test/histories/README.md
 *   git worktree remove --force /tmp/rf-snap
 *
 * Do not re-record a history to make this test pass: old histories are the point.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { History, readHistoryFile, scheduledActivities, testWorkflowBundle, workflowTypeOf } from './support/workflow-test-env';
import { WorkflowType } from '../lib/temporal/contract';

const HISTORY_DIR = path.join(__dirname, 'histories');
// Every workflow type of the contract: a new type without a committed history fails this test.
const WORKFLOW_TYPES: string[] = Object.values(WorkflowType);

interface Replayed {
  name: string;
  error?: Error;
}

async function replay(bundle: WorkflowBundleWithSourceMap, histories: { name: string; history: History }[]): Promise<Replayed[]> {
  const results: Replayed[] = [];
  const iterable = histories.map(({ name, history }) => ({ workflowId: name, history }));
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle, replayName: 'workflow-replay-test' }, iterable)) {
    results.push({ name: r.workflowId, error: r.error });
  }
  return results;
}

describe('workflow replay of committed histories (no server)', function () {
  this.timeout(60_000);
  let bundle: WorkflowBundleWithSourceMap;
  const files = fs.readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json')).sort();
  const histories = files.map((f) => ({ name: f.replace(/\.json$/, ''), history: readHistoryFile(path.join(HISTORY_DIR, f)) }));

  before(async function () {
    this.timeout(90_000);
    bundle = await testWorkflowBundle();
  });

  it('has a history of every workflow type, and a training run from before patched(\'write-model-info\')', () => {
    const types = new Set(histories.map((h) => workflowTypeOf(h.history)));
    for (const t of WORKFLOW_TYPES) assert.ok(types.has(t), `no history of ${t} in ${HISTORY_DIR}`);
    const before = histories.find((h) => h.name === 'trainingWorkflow.before-write-model-info');
    assert.ok(before, 'trainingWorkflow.before-write-model-info.json');
    assert.equal(scheduledActivities(before.history).includes('writeModelInfo'), false);
    assert.equal(before.history.events?.some((e) => e.markerRecordedEventAttributes), false, 'no patch marker');
    const continued = histories.filter((h) => workflowTypeOf(h.history) === 'backfillWorkflow'
      && h.history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes);
    assert.ok(continued.length > 0, 'a backfill run that continued as new');
  });

  it('has per-day runs from before and after patched(\'per-day-local-activities\'): activity tasks, then local-activity markers', () => {
    const taskEvents = (h: History): number => (h.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    for (const type of ['dailyAnalyticsWorkflow', 'dataQualityWorkflow']) {
      const before = histories.find((h) => h.name === type);
      const after = histories.find((h) => h.name === `${type}.local-activities`);
      assert.ok(before && after, `${type}.json and ${type}.local-activities.json`);
      assert.ok(taskEvents(before.history) > 0, `${type}.json scheduled activity tasks`);
      assert.equal(taskEvents(after.history), 0, `${type}.local-activities.json scheduled no activity task`);
      assert.deepEqual(scheduledActivities(after.history), scheduledActivities(before.history), 'the same steps in the same order');
    }
  });

  it('every history replays against the current workflows without non-determinism', async () => {
    const results = await replay(bundle, histories);
    assert.deepEqual(results.map((r) => r.name), histories.map((h) => h.name), 'every history was replayed');
    const failed = results.filter((r) => r.error);
    assert.deepEqual(failed.map((r) => `${r.name}: ${r.error?.name}: ${r.error?.message}`), []);
  });

  it('reports a history the code does not match (the check is not vacuous)', async () => {
    // The daily run's history with its store and publish steps swapped: what replaying a real
    // history against code that calls publishDailyMetrics before storeDailyReport looks like.
    const original = histories.find((h) => h.name === 'dailyAnalyticsWorkflow');
    assert.ok(original);
    const swapped = readHistoryFile(path.join(HISTORY_DIR, 'dailyAnalyticsWorkflow.json'));
    const scheduled = (swapped.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType);
    const store = scheduled.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'storeDailyReport');
    const publish = scheduled.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishDailyMetrics');
    assert.ok(store?.activityTaskScheduledEventAttributes?.activityType && publish?.activityTaskScheduledEventAttributes?.activityType);
    store.activityTaskScheduledEventAttributes.activityType.name = 'publishDailyMetrics';
    publish.activityTaskScheduledEventAttributes.activityType.name = 'storeDailyReport';

    const [ok, bad] = await replay(bundle, [original, { name: 'swapped', history: swapped }]);
    assert.equal(ok.error, undefined);
    assert.ok(bad.error instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${bad.error}`);
    assert.match(bad.error.message, /storeDailyReport|publishDailyMetrics/);
  });
});
