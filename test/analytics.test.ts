/**
 * Daily analytics end to end: the real data in DuckDB, the real Temporal dev server and worker,
 * the Pub/Sub emulator. KPI expectations come from test/support/reference-kpis.ts, which reads the
 * raw CSV on its own.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { WorkflowFailedError } from '@temporalio/client';
import { startBackfill } from '../clients/backfill';
import { startDailyAnalytics } from '../clients/per-day';
import { DAILY_METRICS_TOPIC, DailyMetricsEvent } from '../lib/analytics/events';
import { pubsubClientConfig } from '../lib/eventbus/pubsub';
import { loadOrdersFile } from '../lib/ingest/load';
import { AnalyticsDate } from '../lib/temporal/search-attributes';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { backfillProgressQuery } from '../lib/temporal/contract';
import { services, TEST_PUBSUB_PROJECT, testEventBus } from './hooks';
import { realDataFile, tempDir } from './support/fixtures';
import { referenceKpis } from './support/reference-kpis';
import { startTestWorker, TestWorker } from './support/worker';
import { activityAttempts } from './support/workflow-test-env';

// First day, the day of the 74,215-unit order and its cancellation, an ordinary mid-year day, last day.
const DAYS = ['2010-12-01', '2011-01-18', '2011-06-15', '2011-12-09'];

describe('@integration daily analytics workflows', function () {
  this.timeout(180_000);
  const dataDir = tempDir();
  let taskQueue: string;
  let wh: DuckDBWarehouse;
  let worker: TestWorker;
  const reference = referenceKpis(realDataFile(), DAYS);

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dataDir, 'warehouse.duckdb') });
    await loadOrdersFile(wh, realDataFile());
    worker = await startTestWorker({ warehouse: wh, dataDir, name: 'analytics' });
    taskQueue = worker.taskQueue;
  });
  after(async () => {
    await worker?.stop();
    await wh?.close();
  });

  const client = () => services().temporal.client;

  for (const date of DAYS) {
    it(`computes exact KPIs for ${date}`, async () => {
      const result = await (await startDailyAnalytics(client(), taskQueue, date)).result();
      const ref = reference.get(date);
      assert.ok(ref, `reference has ${date}`);
      const { orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold } = result.kpis;
      assert.deepEqual({ orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold }, ref);
      assert.equal(result.topProductCount, 10);
      assert.deepEqual(result.predictions, { status: 'no-model', reason: 'no promoted revenue model is registered' });
    });
  }

  it('stores refunds and net revenue exactly on a day with cancellations (2011-01-18)', async () => {
    const [row] = await wh.query<{ refunds: string; cancelled_orders: number; net_revenue: string; gross_revenue: string }>(
      "SELECT refunds, cancelled_orders, net_revenue, gross_revenue FROM daily_metrics WHERE report_date = CAST('2011-01-18' AS DATE)",
    );
    const ref = reference.get('2011-01-18')!;
    assert.equal(row.gross_revenue, ref.gross_revenue);
    assert.equal(row.refunds, ref.refunds);
    assert.equal(row.cancelled_orders, ref.cancelled_orders);
    const thousandths = (v: string) => BigInt(Math.round(Number(v) * 1000));
    assert.equal(thousandths(row.net_revenue), thousandths(ref.gross_revenue) - thousandths(ref.refunds));
    assert.ok(Number(row.refunds) >= 74_215 * 1.04, 'the 74,215-unit cancellation is a refund');
  });

  it('re-running a day replaces its row: one daily_metrics row per date', async () => {
    await (await startDailyAnalytics(client(), taskQueue, '2011-12-09')).result();
    await (await startDailyAnalytics(client(), taskQueue, '2011-12-09')).result();
    const [{ n }] = await wh.query<{ n: number }>("SELECT COUNT(*) AS n FROM daily_metrics WHERE report_date = CAST('2011-12-09' AS DATE)");
    assert.equal(n, 1);
    const [{ p }] = await wh.query<{ p: number }>("SELECT COUNT(*) AS p FROM daily_top_products WHERE report_date = CAST('2011-12-09' AS DATE)");
    assert.equal(p, 10);
  });

  it('starting the same date twice while it runs attaches to the one run', async () => {
    const [a, b] = await Promise.all([
      startDailyAnalytics(client(), taskQueue, '2011-06-16'),
      startDailyAnalytics(client(), taskQueue, '2011-06-16'),
    ]);
    assert.equal(a.workflowId, 'daily-analytics-2011-06-16');
    assert.equal(a.firstExecutionRunId, b.firstExecutionRunId);
    await a.result();
  });

  it('writes data/daily_metrics_<date>.csv with the seed columns and tags the run with AnalyticsDate', async () => {
    const handle = await startDailyAnalytics(client(), taskQueue, '2010-12-01');
    const result = await handle.result();
    const csv = fs.readFileSync(path.join(dataDir, 'daily_metrics_2010-12-01.csv'), 'utf8');
    assert.equal(result.csvPath, path.join(dataDir, 'daily_metrics_2010-12-01.csv'));
    const ref = reference.get('2010-12-01')!;
    assert.match(csv, new RegExp(`^Total Orders,${ref.orders}$`, 'm'));
    assert.match(csv, new RegExp(`^Total Revenue,${Number(ref.gross_revenue).toFixed(2)}$`, 'm'));
    assert.match(csv, new RegExp(`^Unique Customers,${ref.unique_customers}$`, 'm'));
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(AnalyticsDate)?.toISOString(), '2010-12-01T00:00:00.000Z');
  });

  it('publishes a daily-metrics event with the KPI payload', async () => {
    const pubsub = new PubSub(pubsubClientConfig({ projectId: TEST_PUBSUB_PROJECT, emulatorHost: services().pubsubHost }));
    await testEventBus().ensureTopic(DAILY_METRICS_TOPIC);
    const subName = `test-daily-metrics-${Date.now()}`;
    await testEventBus().ensureSubscription(DAILY_METRICS_TOPIC, subName);
    const received: DailyMetricsEvent[] = [];
    const sub = pubsub.subscription(subName);
    sub.on('message', (m: Message) => {
      received.push(JSON.parse(m.data.toString('utf8')) as DailyMetricsEvent);
      m.ack();
    });
    try {
      const result = await (await startDailyAnalytics(client(), taskQueue, '2011-06-15')).result();
      const deadline = Date.now() + 15_000;
      while (!received.some((e) => e.date === '2011-06-15') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const event = received.find((e) => e.date === '2011-06-15');
      assert.ok(event, 'event received');
      assert.equal(event.type, 'daily-metrics');
      assert.deepEqual(event.kpis, result.kpis);
      assert.equal(event.workflowId, 'daily-analytics-2011-06-15');
    } finally {
      await sub.close();
      await pubsub.close();
    }
  });

  it('a date without data fails fast with a clear, non-retryable error', async () => {
    const handle = await startDailyAnalytics(client(), taskQueue, '2011-12-25');
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String((err.cause?.cause as Error | undefined)?.message), /no order lines on 2011-12-25/);
      return true;
    });
    const history = await handle.fetchHistory();
    assert.deepEqual(activityAttempts(history), [{ type: 'computeDailyReport', attempt: 1 }]);
  });

  it('backfills a range with bounded concurrency and continue-as-new, reporting progress', async () => {
    const handle = await startBackfill(client(), taskQueue, { from: '2010-12-01', to: '2010-12-14', concurrency: 3, maxChildrenPerRun: 4 });
    const progress = await handle.query(backfillProgressQuery);
    assert.equal(progress.workflow, 'dailyAnalyticsWorkflow');
    const result = await handle.result();
    const [{ days }] = await wh.query<{ days: number }>(
      "SELECT COUNT(DISTINCT invoice_date) AS days FROM orders_raw WHERE invoice_date BETWEEN CAST('2010-12-01' AS DATE) AND CAST('2010-12-14' AS DATE)",
    );
    assert.deepEqual(result, { workflow: 'dailyAnalyticsWorkflow', total: days, done: days, failed: 0, failedDays: [] });
    const described = await handle.describe();
    assert.notEqual(described.runId, handle.firstExecutionRunId, 'continued as new at least once');
  });

  it('the full backfill, 305 days from 2010-12-01 to 2011-12-09, sums to 19,960 orders', async () => {
    const handle = await startBackfill(client(), taskQueue, { from: '2010-12-01', to: '2011-12-09', concurrency: 16 });
    const result = await handle.result();
    assert.deepEqual(result.failedDays, []);
    assert.equal(result.total, 305);
    assert.equal(result.done, 305);
    assert.equal(result.failed, 0);
    const [r] = await wh.query<{ days: number; orders: number }>('SELECT COUNT(*) AS days, SUM(orders) AS orders FROM daily_metrics');
    assert.deepEqual(r, { days: 305, orders: 19_960 });
  });
});

