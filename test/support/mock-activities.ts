/**
 * Mocked activities for workflow tests without warehouse, event bus or model store: plain async
 * functions named like the real ones in activities/, returning small, fixed, plausible values.
 * Every call is logged (name and input) and concurrent computeDailyReport calls are counted.
 *
 * Only types come from lib/ (no workflow code), so the workflow tests and the history recorder do
 * not depend on how workflows/ is organised. Also used by test/support/record-histories.ts, which
 * may run in an older checkout: keep this file free of imports that an older tree may not have.
 */
import type { DailyReport } from '../../lib/analytics/daily';
import type { PredictionOutcome } from '../../lib/analytics/predictions';
import type { GateResult, ModelBaselines, ModelDataRange, ModelMetrics } from '../../lib/model/registry';
import type { LoadResult } from '../../lib/ingest/load';
import type { CheckResult, DqDayReport } from '../../lib/quality/types';
import type { DatasetSummary } from '../../lib/summary';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFn = (input: any) => Promise<any>;

export interface ActivityCall {
  name: string;
  input: unknown;
}

export interface MockActivities {
  /** The functions to give the Worker (`activities`). */
  activities: Record<string, AnyFn>;
  /** Every call, in the order the worker started them. */
  calls: ActivityCall[];
  /** Names of the calls, in order. */
  names(): string[];
  /** Calls of one activity. */
  callsOf(name: string): ActivityCall[];
  /** Most computeDailyReport calls running at the same time. */
  maxConcurrentCompute(): number;
}

export function fakeDailyReport(date: string): DailyReport {
  return {
    kpis: {
      date, orders: 3, gross_revenue: '120.50', refunds: '10.00', net_revenue: '110.50', cancelled_orders: 1,
      unique_customers: 2, items_sold: 17, avg_order_value: '40.17', sale_lines: 5, refund_lines: 1, total_lines: 6,
      batch_orders: 3, batch_lines: 6, stream_orders: 0, stream_lines: 0,
    },
    topProducts: [
      { rank: 1, stock_code: '85123A', description: 'WHITE HANGING HEART T-LIGHT HOLDER', revenue: '80.50', quantity: 12 },
      { rank: 2, stock_code: '22423', description: 'REGENCY CAKESTAND 3 TIER', revenue: '40.00', quantity: 5 },
    ],
    countries: [
      { country: 'United Kingdom', gross_revenue: '100.50', orders: 2 },
      { country: 'France', gross_revenue: '20.00', orders: 1 },
      { country: 'Germany', gross_revenue: '0.00', orders: 0 },
    ],
  };
}

export const FAKE_PREDICTIONS: PredictionOutcome = {
  status: 'scored', modelVersion: 'rf-fake', orders: 3, lines: 5, mae: '4.20', predictedTotal: '118.00', actualTotal: '120.50',
};

export function fakeCheck(check: string, severity: CheckResult['severity'], source: CheckResult['source'] = 'orders_raw'): CheckResult {
  return {
    check, category: check.split('.')[0], source, severity, observed: severity === 'pass' ? 0 : 3,
    warn: 1, fail: 5, flaggedLines: severity === 'pass' ? 0 : 3, examples: [], detail: `${check} is ${severity}`,
  };
}

export const FAKE_DATA_RANGE: ModelDataRange = {
  trainFrom: '2010-12-01', trainTo: '2011-10-31', testFrom: '2011-11-01', testTo: '2011-12-09', trainRows: 1000, testRows: 200,
};
export const FAKE_METRICS: ModelMetrics = { mse: 100, mae: 5, r2: 0.5 };
export const FAKE_BASELINES: ModelBaselines = { lineRevenue: { mse: 400, mae: 9 }, trainMean: { mse: 900, mae: 20 } };

export interface MockOptions {
  /** What listDatesWithData returns; default two days. */
  dates?: string[];
  /** Severities of the data-quality checks runDataQualityChecks reports; default all pass. */
  dqSeverities?: CheckResult['severity'][];
  /** Whether promoteIfBetter promotes; default true. */
  promote?: boolean;
  /** How long computeDailyReport takes (ms), so concurrency shows; default 0. */
  computeDelayMs?: number;
  /** Replace single activities (the call is still logged and counted). */
  overrides?: Record<string, AnyFn>;
}

export function mockActivities(opts: MockOptions = {}): MockActivities {
  const calls: ActivityCall[] = [];
  let running = 0;
  let maxRunning = 0;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const defaults: Record<string, AnyFn> = {
    async loadOrders(input: { file?: string; force?: boolean }): Promise<LoadResult> {
      return {
        status: 'loaded', sourceSha256: 'f'.repeat(64), sourcePath: input.file ?? '/data/online_retail.csv.gz',
        rowsLoaded: 9, rowsQuarantined: 1, durationMs: 12,
      };
    },
    async writeDatasetSummary(): Promise<{ summary: DatasetSummary; csvPath: string }> {
      const summary: DatasetSummary = {
        table: 'orders_raw', rows: 9, columns: [], firstDate: '2010-12-01', lastDate: '2010-12-02',
        cancellationLines: 1, cancelledInvoices: 1, countries: 2,
      };
      return { summary, csvPath: '/data/dataset_summary.csv' };
    },
    async computeDailyReport(input: { date: string }) {
      return fakeDailyReport(input.date);
    },
    async storeDailyReport(input: { report: DailyReport }) {
      return { csvPath: `/data/daily_metrics_${input.report.kpis.date}.csv` };
    },
    async publishDailyMetrics(input: { report: DailyReport }) {
      return { messageId: `msg-${input.report.kpis.date}` };
    },
    async scoreDayWithPromotedModel() {
      return FAKE_PREDICTIONS;
    },
    async listDatesWithData() {
      return opts.dates ?? ['2011-12-08', '2011-12-09'];
    },
    async runDataQualityChecks(input: { date: string }): Promise<DqDayReport> {
      const severities = opts.dqSeverities ?? ['pass', 'pass'];
      return {
        date: input.date,
        results: severities.map((s, i) => fakeCheck(`check${i}.${s}`, s, i % 2 === 1 ? 'orders_stream' : 'orders_raw')),
      };
    },
    async storeDataQualityResults(input: { report: DqDayReport }) {
      return { rows: input.report.results.length };
    },
    async publishDataQualityAlerts(input: { report: DqDayReport }) {
      return { messageIds: input.report.results.filter((r) => r.severity !== 'pass').map((r) => `alert-${r.check}`) };
    },
    async prepareTrainingData() {
      return { data: FAKE_DATA_RANGE, featureNames: ['quantity', 'unit_price'] };
    },
    async trainModel() {
      return { bytes: 1234, seconds: 0.5 };
    },
    async evaluateModel() {
      return { metrics: FAKE_METRICS, baselines: FAKE_BASELINES };
    },
    async registerModelVersion(input: { runId: string }) {
      return { version: `rf-test-${input.runId.replace(/-/g, '').slice(-8)}` };
    },
    async promoteIfBetter(input: { version: string }): Promise<GateResult> {
      const promoted = opts.promote ?? true;
      return {
        promoted, version: input.version, previous: 'rf-previous',
        reason: promoted ? 'holdout MAE 5 <= 5.5: promoted' : 'holdout MAE 5 > 4.5: kept rf-previous',
      };
    },
    async writeModelInfo() {
      return { path: '/tmp/model_info.md', changed: true, created: false, versions: 2, promoted: 'rf-previous' };
    },
  };

  const impl = { ...defaults, ...opts.overrides };
  const activities: Record<string, AnyFn> = {};
  for (const [name, fn] of Object.entries(impl)) {
    activities[name] = async (input: unknown) => {
      calls.push({ name, input });
      if (name !== 'computeDailyReport') return fn(input);
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        if (opts.computeDelayMs) await sleep(opts.computeDelayMs);
        return await fn(input);
      } finally {
        running--;
      }
    };
  }
  return {
    activities,
    calls,
    names: () => calls.map((c) => c.name),
    callsOf: (name) => calls.filter((c) => c.name === name),
    maxConcurrentCompute: () => maxRunning,
  };
}
