/**
 * Workflow logic with mocked activities: no warehouse, no Pub/Sub, no model store, only a Temporal
 * dev server this file starts itself (once) and workers whose activities are plain async functions
 * (test/support/mock-activities.ts). Runs in `npm run test:unit` too.
 *
 * Workflows are addressed by type name ('dailyAnalyticsWorkflow') and the worker loads
 * workflows/ by path, so these tests do not depend on how workflows/ is organised, only on the
 * workflow types, their inputs and results, and the activity names.
 */
import { strict as assert } from 'node:assert';
import { WorkflowFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ensureApplicationFailure, RetryState } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { AnalyticsDate, PipelineStage } from '../lib/temporal/search-attributes';
import { FAKE_PREDICTIONS, fakeDailyReport, mockActivities, MockActivities, MockOptions } from './support/mock-activities';
import {
  causes, continuedAsNewRunId, createLocalTestEnv, failureOf, scheduledActivities, SharedMockWorker, startSharedMockWorker, testWorkflowBundle, upsertedValues,
} from './support/workflow-test-env';

/** Like the project's own error classes: the SDK takes an activity error's type from its class name. */
class NoDataForDateError extends Error {
  override readonly name = 'NoDataForDateError';
}
class InvalidDateError extends Error {
  override readonly name = 'InvalidDateError';
}

/** The real activities' calendar check (2011-02-30 and 2011-13-45 are not days). */
function assertCalendarDate(date: string): void {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || !new Date(ms).toISOString().startsWith(date)) {
    throw new InvalidDateError(`date must be a calendar date YYYY-MM-DD, got "${date}"`);
  }
}

/** Consecutive calendar days from `from`. */
function days(from: string, n: number): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

const DAILY_STEPS = ['computeDailyReport', 'storeDailyReport', 'publishDailyMetrics', 'scoreDayWithPromotedModel'];
const DQ_STEPS = ['runDataQualityChecks', 'storeDataQualityResults', 'publishDataQualityAlerts'];
const TRAINING_STEPS = ['prepareTrainingData', 'trainModel', 'evaluateModel', 'registerModelVersion', 'promoteIfBetter', 'writeModelInfo'];

describe('workflow logic with mocked activities (own dev server, no other services)', function () {
  this.timeout(30_000);
  let env: TestWorkflowEnvironment;
  let worker: SharedMockWorker;
  let ids = 0;

  before(async function () {
    this.timeout(90_000);
    let bundle: WorkflowBundleWithSourceMap;
    [env, bundle] = await Promise.all([createLocalTestEnv(), testWorkflowBundle()]);
    worker = await startSharedMockWorker(env, bundle, Object.keys(mockActivities().activities));
  });
  after(async function () {
    this.timeout(30_000);
    await worker?.stop();
    await env?.teardown();
  });

  /** Start `type` with `args`, its activities answered by `mocks`, and hand the handle to `fn`. */
  async function run<T>(mocks: MockActivities, type: string, args: unknown[], fn: (h: WorkflowHandleWithFirstExecutionRunId) => Promise<T>): Promise<T> {
    worker.use(mocks);
    const handle = await env.client.workflow.start(type, { taskQueue: worker.taskQueue, workflowId: `logic-${type}-${process.pid}-${++ids}`, args });
    return fn(handle);
  }
  const mocked = (opts?: MockOptions) => mockActivities(opts);

  it('mocks are named exactly like the real activities', () => {
    const deps = { warehouse: {}, config: { model: { storeDir: '/nonexistent' } }, eventBus: {} } as unknown as ActivityDeps;
    assert.deepEqual(Object.keys(mocked().activities).sort(), Object.keys(createActivities(deps)).sort());
  });

  it('the SDK names an activity failure after the error class, not error.name: a renamed plain Error would be retried', () => {
    // What makes nonRetryableErrorTypes work for the project's errors: their class name is their type.
    assert.equal(ensureApplicationFailure(new NoDataForDateError('x')).type, 'NoDataForDateError');
    // A plain Error with only `name` set arrives as type "Error", which no retry policy lists.
    assert.equal(ensureApplicationFailure(Object.assign(new Error('x'), { name: 'NoDataForDateError' })).type, 'Error');
  });

  describe('dailyAnalyticsWorkflow', () => {
    it('computes, stores, publishes, scores, in that order, and ends in stage "done"', async () => {
      const mocks = mocked();
      await run(mocks, 'dailyAnalyticsWorkflow', [{ date: '2011-12-09' }], async (h) => {
        const result = await h.result();
        assert.deepEqual(result, {
          date: '2011-12-09',
          kpis: fakeDailyReport('2011-12-09').kpis,
          topProductCount: 2,
          countryCount: 3,
          csvPath: '/data/daily_metrics_2011-12-09.csv',
          eventMessageId: 'msg-2011-12-09',
          predictions: FAKE_PREDICTIONS,
        });
        const history = await h.fetchHistory();
        assert.deepEqual(scheduledActivities(history), DAILY_STEPS);
        assert.deepEqual(upsertedValues(history, 'PipelineStage'), ['compute', 'store', 'publish', 'predictions', 'done']);
        const sa = (await h.describe()).typedSearchAttributes;
        assert.equal(sa.get(PipelineStage), 'done');
        assert.deepEqual(sa.get(AnalyticsDate), new Date('2011-12-09T00:00:00Z'));
      });
      assert.deepEqual(mocks.names(), DAILY_STEPS);
      assert.deepEqual(mocks.callsOf('computeDailyReport')[0].input, { date: '2011-12-09' });
      assert.deepEqual(mocks.callsOf('scoreDayWithPromotedModel')[0].input, { date: '2011-12-09' });
      const store = mocks.callsOf('storeDailyReport')[0].input as { report: unknown; workflowId: string };
      assert.deepEqual(store.report, fakeDailyReport('2011-12-09'));
      assert.match(store.workflowId, /^logic-dailyAnalyticsWorkflow-/);
    });

    it('without a date (a Schedule\'s run) reports on the day before the run started', async () => {
      const mocks = mocked();
      const date = await run(mocks, 'dailyAnalyticsWorkflow', [{}], async (h) => {
        const result = await h.result() as { date: string };
        const started = (await h.describe()).startTime;
        assert.equal(result.date, new Date(started.getTime() - 86_400_000).toISOString().slice(0, 10));
        return result.date;
      });
      assert.deepEqual(mocks.callsOf('computeDailyReport')[0].input, { date });
    });

    for (const [label, error] of [
      ['an ApplicationFailure of type NoDataForDateError', () => ApplicationFailure.create({ message: 'no order lines on 2011-12-25 in orders_raw', type: 'NoDataForDateError' })],
      ['a NoDataForDateError, as the real activity throws', () => new NoDataForDateError('no order lines on 2011-12-25 in orders_raw')],
    ] as const) {
      it(`a day without data (${label}) fails after one attempt, nothing stored`, async () => {
        const mocks = mocked({ overrides: { computeDailyReport: async () => { throw error(); } } });
        const failure = await run(mocks, 'dailyAnalyticsWorkflow', [{ date: '2011-12-25' }], (h) => failureOf(h));
        const [, activity, app] = causes(failure);
        assert.ok(activity instanceof ActivityFailure, String(activity));
        assert.equal(activity.activityType, 'computeDailyReport');
        assert.equal(activity.retryState, RetryState.NON_RETRYABLE_FAILURE);
        assert.ok(app instanceof ApplicationFailure);
        assert.equal(app.type, 'NoDataForDateError');
        assert.equal(app.message, 'no order lines on 2011-12-25 in orders_raw');
        assert.deepEqual(mocks.names(), ['computeDailyReport'], 'one attempt, no later step');
      });
    }

    it('a malformed date fails with InvalidDateError before any activity', async () => {
      const mocks = mocked();
      const failure = await run(mocks, 'dailyAnalyticsWorkflow', [{ date: 'x' }], (h) => failureOf(h));
      assert.ok(failure.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.type, 'InvalidDateError');
      assert.equal(failure.cause.nonRetryable, true);
      assert.deepEqual(mocks.names(), []);
    });

    it('a date that is no calendar day (2011-13-45) fails with InvalidDateError, not retried, nothing stored', async () => {
      // The workflow's own check is on the shape (YYYY-MM-DD), so today this date reaches
      // computeDailyReport, whose calendar check (mocked like the real one) rejects it, once.
      const mocks = mocked({ overrides: { computeDailyReport: async ({ date }: { date: string }) => { assertCalendarDate(date); return fakeDailyReport(date); } } });
      const failure = await run(mocks, 'dailyAnalyticsWorkflow', [{ date: '2011-13-45' }], (h) => failureOf(h));
      const root = causes(failure).at(-1);
      assert.ok(root instanceof ApplicationFailure);
      assert.equal(root.type, 'InvalidDateError');
      assert.ok(mocks.callsOf('computeDailyReport').length <= 1, 'not retried');
      assert.deepEqual(mocks.names().filter((n) => n !== 'computeDailyReport'), []);
    });
  });

  describe('scheduled runs and the shop day', () => {
    const noData = () => new NoDataForDateError('no order lines on that day');

    it('a Schedule\'s run (no date) of a day without data completes with outcome no-data, one attempt, nothing stored', async () => {
      const mocks = mocked({ overrides: { computeDailyReport: async () => { throw noData(); } } });
      const result = await run(mocks, 'dailyAnalyticsWorkflow', [{}], (h) => h.result()) as { outcome: string; reason: string; date: string };
      assert.equal(result.outcome, 'no-data');
      assert.match(result.reason, /no order lines on that day/);
      assert.equal(mocks.callsOf('computeDailyReport').length, 1);
      assert.equal(mocks.callsOf('storeDailyReport').length, 0);
    });

    it('data quality on a Schedule: an empty day is an outcome too', async () => {
      const mocks = mocked({ overrides: { runDataQualityChecks: async () => { throw noData(); } } });
      const result = await run(mocks, 'dataQualityWorkflow', [{}], (h) => h.result()) as { outcome: string };
      assert.equal(result.outcome, 'no-data');
      assert.equal(mocks.callsOf('storeDataQualityResults').length, 0);
    });

    it('an explicit date of an empty day still fails (analytics run --date keeps its error)', async () => {
      const mocks = mocked({ overrides: { computeDailyReport: async () => { throw noData(); } } });
      const failure = await run(mocks, 'dailyAnalyticsWorkflow', [{ date: '2011-12-25' }], (h) => failureOf(h));
      assert.ok(failure instanceof WorkflowFailedError);
    });

    it('"yesterday" and "today" are days of the shop\'s time zone', async () => {
      // Pacific/Kiritimati is UTC+14: for most of the UTC day its calendar is a day ahead, so UTC and shop days differ.
      const zone = 'Pacific/Kiritimati';
      for (const day of ['yesterday', 'today'] as const) {
        const mocks = mocked();
        await run(mocks, 'dailyAnalyticsWorkflow', [{ day, timeZone: zone }], async (h) => {
          const result = await h.result() as { date: string };
          const started = (await h.describe()).startTime;
          const shopToday = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(started);
          const expected = day === 'today' ? shopToday : new Date(Date.parse(`${shopToday}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
          assert.equal(result.date, expected, day);
        });
      }
    });

    it('the intraday refresh recomputes today under the day\'s own ID, and an empty today is an outcome', async () => {
      const mocks = mocked();
      const result = await run(mocks, 'intradayRefreshWorkflow', [{ timeZone: 'Europe/London' }], (h) => h.result()) as { date: string; kpis?: unknown };
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
      assert.equal(result.date, today);
      assert.ok(result.kpis);
      const child = await env.client.workflow.getHandle(`daily-analytics-${today}`).describe();
      assert.equal(child.status.name, 'COMPLETED');

      const empty = mocked({ overrides: { computeDailyReport: async () => { throw noData(); } } });
      const again = await run(empty, 'intradayRefreshWorkflow', [{ timeZone: 'Europe/London' }], (h) => h.result()) as { outcome: string };
      assert.equal(again.outcome, 'no-data');
    });

    it('a finished run shows a human summary in its current details', async () => {
      const mocks = mocked();
      await run(mocks, 'dailyAnalyticsWorkflow', [{ date: '2011-12-09' }], async (h) => {
        await h.result();
        const details = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        assert.match(details.currentDetails, /^2011-12-09 · \d+ orders · £[\d,]+\.\d\d gross · £[\d,]+\.\d\d net/);
      });
    });
  });

  describe('dataQualityWorkflow', () => {
    const cases = [
      { severities: ['pass', 'pass'], status: 'passed', counts: { pass: 2, warn: 0, fail: 0 }, reasons: [], warnings: [] },
      { severities: ['pass', 'warn'], status: 'warned', counts: { pass: 1, warn: 1, fail: 0 }, reasons: [], warnings: ['orders_stream:check1.warn: check1.warn is warn'] },
      {
        severities: ['fail', 'warn', 'pass', 'fail'], status: 'failed', counts: { pass: 1, warn: 1, fail: 2 },
        reasons: ['check0.fail: check0.fail is fail', 'orders_stream:check3.fail: check3.fail is fail'], warnings: ['orders_stream:check1.warn: check1.warn is warn'],
      },
    ] as const;
    for (const c of cases) {
      it(`checks, stores, alerts in that order and summarises ${c.severities.join('/')} as ${c.status}`, async () => {
        const mocks = mocked({ dqSeverities: [...c.severities] });
        await run(mocks, 'dataQualityWorkflow', [{ date: '2011-12-09' }], async (h) => {
          const result = await h.result() as Record<string, unknown> & { results: unknown[] };
          assert.equal(result.date, '2011-12-09');
          assert.equal(result.status, c.status);
          assert.deepEqual(result.counts, c.counts);
          assert.deepEqual(result.reasons, c.reasons);
          assert.deepEqual(result.warnings, c.warnings);
          assert.equal(result.results.length, c.severities.length);
          assert.deepEqual(result.alertMessageIds, c.severities.flatMap((s, i) => (s === 'pass' ? [] : [`alert-check${i}.${s}`])));
          const history = await h.fetchHistory();
          assert.deepEqual(upsertedValues(history, 'PipelineStage'), ['dq-check', 'dq-store', 'dq-alert', 'done']);
          assert.equal((await h.describe()).typedSearchAttributes.get(PipelineStage), 'done');
        });
        assert.deepEqual(mocks.names(), DQ_STEPS);
      });
    }

    it('a day without data fails after one attempt, nothing stored or alerted', async () => {
      const mocks = mocked({ overrides: { runDataQualityChecks: async () => { throw new NoDataForDateError('no order lines on 2011-12-25 in orders_raw or orders_stream'); } } });
      const failure = await run(mocks, 'dataQualityWorkflow', [{ date: '2011-12-25' }], (h) => failureOf(h));
      const [, activity, app] = causes(failure);
      assert.ok(activity instanceof ActivityFailure);
      assert.equal(activity.retryState, RetryState.NON_RETRYABLE_FAILURE);
      assert.ok(app instanceof ApplicationFailure);
      assert.equal(app.type, 'NoDataForDateError');
      assert.deepEqual(mocks.names(), ['runDataQualityChecks']);
    });

    it('a malformed date fails with InvalidDateError before any activity', async () => {
      const mocks = mocked();
      const failure = await run(mocks, 'dataQualityWorkflow', [{ date: '2011-1-9' }], (h) => failureOf(h));
      assert.ok(failure.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.type, 'InvalidDateError');
      assert.deepEqual(mocks.names(), []);
    });
  });

  describe('trainingWorkflow', () => {
    type Training = { version: string; gate: { promoted: boolean; reason: string }; beatsBaselines: boolean; trainRows: number; testRows: number; modelInfo: unknown };

    it('extracts, trains, evaluates, registers, gates and documents in that order; a promotion is in the result', async () => {
      const mocks = mocked({ promote: true });
      const result = await run(mocks, 'trainingWorkflow', [{ boundary: '2011-11-01', params: { nTrees: 5 }, tolerance: 0.1 }], async (h) => {
        const r = await h.result() as Training;
        assert.deepEqual(upsertedValues(await h.fetchHistory(), 'PipelineStage'), ['extract', 'train', 'evaluate', 'register', 'promote', 'document', 'done']);
        return r;
      });
      assert.deepEqual(mocks.names(), TRAINING_STEPS);
      assert.match(result.version, /^rf-test-/);
      assert.equal(result.gate.promoted, true);
      assert.equal(result.beatsBaselines, true);
      assert.deepEqual([result.trainRows, result.testRows], [1000, 200]);
      assert.deepEqual(result.modelInfo, { written: true, path: '/tmp/model_info.md' });
      const [prepare] = mocks.callsOf('prepareTrainingData');
      assert.equal((prepare.input as { boundary: string }).boundary, '2011-11-01');
      const [train] = mocks.callsOf('trainModel');
      assert.deepEqual((train.input as { params: unknown }).params, { nTrees: 5, minSamplesLeaf: 12, seed: 0 });
      assert.deepEqual(mocks.callsOf('promoteIfBetter')[0].input, { version: result.version, tolerance: 0.1 });
      assert.deepEqual((mocks.callsOf('writeModelInfo')[0].input as { gate: unknown }).gate, result.gate);
    });

    it('a model the gate keeps out is registered, reported as kept, and the document still written', async () => {
      const mocks = mocked({ promote: false });
      const result = await run(mocks, 'trainingWorkflow', [{}], (h) => h.result() as Promise<Training>);
      assert.deepEqual(mocks.names(), TRAINING_STEPS);
      assert.equal(result.gate.promoted, false);
      assert.match(result.gate.reason, /kept/);
      assert.deepEqual(result.modelInfo, { written: true, path: '/tmp/model_info.md' });
      assert.equal((mocks.callsOf('prepareTrainingData')[0].input as { boundary: string }).boundary, '2011-11-01', 'default boundary');
    });

    it('writeModelInfo failing (non-retryable) is reported in result.modelInfo.error and the run completes', async () => {
      const mocks = mocked({ overrides: { writeModelInfo: async () => { throw ApplicationFailure.nonRetryable('docs/model_info.md has no registry markers', 'ModelInfoError'); } } });
      const result = await run(mocks, 'trainingWorkflow', [{}], (h) => h.result() as Promise<Training>);
      assert.deepEqual(result.modelInfo, { written: false, error: 'docs/model_info.md has no registry markers' });
      assert.equal(result.gate.promoted, true);
      assert.deepEqual(mocks.names(), TRAINING_STEPS);
    });

    it('writeModelInfo failing (retryable) is tried 3 times, then reported, and the run completes', async function () {
      this.timeout(30_000); // two retry back-offs: 1 s + 2 s
      const mocks = mocked({ overrides: { writeModelInfo: async () => { throw new Error('EACCES: permission denied'); } } });
      const result = await run(mocks, 'trainingWorkflow', [{}], (h) => h.result() as Promise<Training>);
      assert.deepEqual(result.modelInfo, { written: false, error: 'EACCES: permission denied' });
      assert.equal(mocks.callsOf('writeModelInfo').length, 3);
      assert.equal(mocks.callsOf('trainModel').length, 1, 'not trained again');
    });

    for (const boundary of ['x', '2011/11/01']) {
      it(`an invalid boundary (${boundary}) fails with InvalidDateError before any activity`, async () => {
        const mocks = mocked();
        const failure = await run(mocks, 'trainingWorkflow', [{ boundary }], (h) => failureOf(h));
        assert.ok(failure.cause instanceof ApplicationFailure);
        assert.equal(failure.cause.type, 'InvalidDateError');
        assert.match(failure.cause.message, /boundary must be .*YYYY-MM-DD/);
        assert.deepEqual(mocks.names(), []);
      });
    }

    it('a heartbeat timeout under 1 s fails with InvalidInputError before any activity', async () => {
      const mocks = mocked();
      const failure = await run(mocks, 'trainingWorkflow', [{ trainHeartbeatTimeout: '10ms' }], (h) => failureOf(h));
      assert.ok(failure.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.type, 'InvalidInputError');
      assert.deepEqual(mocks.names(), []);
    });
  });

  describe('ingestWorkflow', () => {
    it('loads, then writes the summary, and returns both', async () => {
      const mocks = mocked();
      await run(mocks, 'ingestWorkflow', [{ file: '/data/x.csv', force: true }], async (h) => {
        const result = await h.result() as { load: { sourcePath: string }; summary: { csvPath: string } };
        assert.equal(result.load.sourcePath, '/data/x.csv');
        assert.equal(result.summary.csvPath, '/data/dataset_summary.csv');
        assert.deepEqual(upsertedValues(await h.fetchHistory(), 'PipelineStage'), ['ingest']);
      });
      assert.deepEqual(mocks.names(), ['loadOrders', 'writeDatasetSummary']);
      assert.deepEqual(mocks.calls[0].input, { file: '/data/x.csv', force: true });
    });
  });

  describe('backfillWorkflow', () => {
    type Backfill = { workflow: string; total: number; done: number; failed: number; failedDays: { date: string; error: string }[] };
    const byDate = (a: { date: string }, b: { date: string }) => a.date.localeCompare(b.date);

    /** computeDailyReport fails for `failing` with a non-retryable error (the child fails, the backfill goes on). */
    function backfillMocks(dates: string[], failing: Set<string>, computeDelayMs = 0): MockActivities {
      return mocked({
        dates,
        computeDelayMs,
        overrides: {
          computeDailyReport: async ({ date }: { date: string }) => {
            if (failing.has(date)) throw ApplicationFailure.nonRetryable(`no order lines on ${date} (mocked)`, 'NoDataForDateError');
            return fakeDailyReport(date);
          },
        },
      });
    }

    it('counts done and failed days exactly, with the root cause, never more than `concurrency` days at once', async function () {
      this.timeout(45_000);
      const dates = days('2011-03-01', 10);
      const failing = new Set([dates[1], dates[4], dates[9]]);
      const mocks = backfillMocks(dates, failing, 250);
      const input = { from: dates[0], to: dates[9], concurrency: 3 };
      const { result, progress } = await run(mocks, 'backfillWorkflow', [input], async (h) => ({
        result: await h.result() as Backfill,
        progress: await h.query<Backfill & { running: number }>('backfillProgress'),
      }));
      assert.deepEqual({ ...result, failedDays: [...result.failedDays].sort(byDate) }, {
        workflow: 'dailyAnalyticsWorkflow',
        total: 10,
        done: 7,
        failed: 3,
        failedDays: [...failing].sort().map((date) => ({ date, error: `no order lines on ${date} (mocked)` })),
      });
      assert.equal(progress.running, 0);
      assert.equal(progress.done, 7);
      assert.deepEqual(mocks.callsOf('listDatesWithData').map((c) => c.input), [{ from: input.from, to: input.to }]);
      assert.deepEqual(mocks.callsOf('computeDailyReport').map((c) => (c.input as { date: string }).date).sort(), dates, 'each day once');
      assert.deepEqual(mocks.callsOf('storeDailyReport').map((c) => (c.input as { report: { kpis: { date: string } } }).report.kpis.date).sort(), dates.filter((d) => !failing.has(d)));
      assert.equal(mocks.maxConcurrentCompute(), 3, 'concurrency 3 is used and never exceeded');
    });

    it('continues as new every maxChildrenPerRun days and still reports exact totals', async function () {
      this.timeout(45_000);
      const dates = days('2011-04-01', 7);
      const failing = new Set([dates[0], dates[5]]);
      const mocks = backfillMocks(dates, failing, 50);
      const { result, runs } = await run(mocks, 'backfillWorkflow', [{ from: dates[0], to: dates[6], concurrency: 2, maxChildrenPerRun: 3 }], async (h) => {
        const r = await h.result() as Backfill;
        // Follow the chain of runs through their histories.
        let runs = 0;
        let runId: string | undefined = h.firstExecutionRunId;
        while (runId) {
          runs++;
          runId = continuedAsNewRunId(await env.client.workflow.getHandle(h.workflowId, runId).fetchHistory());
        }
        return { result: r, runs };
      });
      assert.equal(runs, 3, '3 + 3 + 1 days');
      assert.deepEqual({ ...result, failedDays: [...result.failedDays].sort(byDate) }, {
        workflow: 'dailyAnalyticsWorkflow',
        total: 7,
        done: 5,
        failed: 2,
        failedDays: [...failing].sort().map((date) => ({ date, error: `no order lines on ${date} (mocked)` })),
      });
      assert.equal(mocks.callsOf('listDatesWithData').length, 1, 'days listed once, carried across runs');
      assert.deepEqual(mocks.callsOf('computeDailyReport').map((c) => (c.input as { date: string }).date).sort(), dates, 'each day once');
      assert.ok(mocks.maxConcurrentCompute() <= 2);
    });

    it('backfills dataQualityWorkflow days as well', async () => {
      const dates = days('2011-05-02', 3);
      const mocks = mocked({ dates, dqSeverities: ['pass'] });
      const result = await run(mocks, 'backfillWorkflow', [{ workflow: 'dataQualityWorkflow', from: dates[0], to: dates[2] }], (h) => h.result() as Promise<Backfill>);
      assert.deepEqual(result, { workflow: 'dataQualityWorkflow', total: 3, done: 3, failed: 0, failedDays: [] });
      assert.deepEqual(mocks.callsOf('runDataQualityChecks').map((c) => c.input).sort((a, b) => byDate(a as { date: string }, b as { date: string })), dates.map((date) => ({ date })));
      assert.equal(mocks.callsOf('computeDailyReport').length, 0);
    });

    it('an unknown target fails before listing days', async () => {
      const mocks = mocked();
      const failure = await run(mocks, 'backfillWorkflow', [{ workflow: 'noSuchWorkflow', from: '2011-01-01', to: '2011-01-02' }], (h) => failureOf(h));
      assert.ok(failure instanceof WorkflowFailedError);
      assert.ok(failure.cause instanceof ApplicationFailure);
      assert.equal(failure.cause.nonRetryable, true);
      assert.deepEqual(mocks.names(), []);
    });
  });
});
