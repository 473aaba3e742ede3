/**
 * Data quality end to end: the real data in DuckDB, the Temporal dev server and a worker, alerts
 * on the Pub/Sub emulator. A corrupted copy of a real day must fail the matching checks.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { startBackfill } from '../clients/backfill';
import { loadConfig } from '../lib/config';
import { pubsubClientConfig } from '../lib/eventbus/pubsub';
import { loadOrdersFile } from '../lib/ingest/load';
import { startDataQuality } from '../clients/per-day';
import { DQ_ALERTS_TOPIC, DqAlertEvent } from '../lib/quality/events';
import { runDayChecks } from '../lib/quality/checks';
import { loadThresholds } from '../lib/quality/thresholds';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { Warehouse } from '../lib/warehouse/types';
import { services, TEST_PUBSUB_PROJECT, testEventBus } from './hooks';
import { realDataFile, realDataHead, tempDir, writeCsv } from './support/fixtures';

describe('@integration data-quality workflow', function () {
  this.timeout(180_000);
  const taskQueue = `test-quality-${Date.now()}`;
  let wh: DuckDBWarehouse;
  let worker: Worker;
  let workerDone: Promise<void>;
  const client = () => services().temporal.client;

  before(async () => {
    const dataDir = tempDir();
    wh = new DuckDBWarehouse({ path: path.join(dataDir, 'warehouse.duckdb') });
    await loadOrdersFile(wh, realDataFile());
    worker = await Worker.create({
      connection: services().temporal.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: silent }),
      activities: createActivities({ warehouse: wh, config: { ...loadConfig(), dataDir }, eventBus: testEventBus() }),
      maxConcurrentActivityTaskExecutions: 4,
    });
    workerDone = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await workerDone;
    await wh?.close();
  });

  it('re-running a day leaves one set of results', async () => {
    const first = await (await startDataQuality(client(), taskQueue, '2011-06-15')).result();
    const second = await (await startDataQuality(client(), taskQueue, '2011-06-15')).result();
    assert.equal(first.results.length, second.results.length);
    const [{ n, runs }] = await wh.query<{ n: number; runs: number }>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT computed_at) AS runs FROM dq_results WHERE check_date = CAST('2011-06-15' AS DATE)");
    assert.deepEqual({ n, runs }, { n: second.results.length, runs: 1 });
    assert.notEqual(first.status, 'failed');
  });

  it('a corrupted copy of a day fails the matching checks and alerts on dq-alerts', async () => {
    await corruptCopyOfDay(wh, '2011-06-15', '2011-12-10');
    const alerts = await collectAlerts(async () => {
      const result = await (await startDataQuality(client(), taskQueue, '2011-12-10')).result();
      assert.equal(result.status, 'failed');
      const failed = result.results.filter((r) => r.severity === 'fail').map((r) => r.check);
      for (const check of ['uniqueness.duplicate_lines', 'completeness.missing_customer_id', 'validity.negative_price']) {
        assert.ok(failed.includes(check), `${check} failed (got ${failed.join(', ')})`);
        assert.ok(result.reasons.some((r) => r.startsWith(`${check}:`)), `reason listed for ${check}`);
      }
      return failed;
    });
    for (const check of ['uniqueness.duplicate_lines', 'completeness.missing_customer_id', 'validity.negative_price']) {
      const alert = alerts.find((a) => a.date === '2011-12-10' && a.check === check);
      assert.equal(alert?.severity, 'fail', `alert for ${check}`);
      assert.equal(alert?.workflowId, 'data-quality-2011-12-10');
    }
    const neg = alerts.find((a) => a.check === 'validity.negative_price');
    assert.deepEqual(neg?.examples.length, 1);
  });

  it('the full range 2010-12-01..2011-12-09: every day checked, none fails, the facts add up', async function () {
    this.timeout(900_000);
    const handle = await startBackfill(client(), taskQueue, { workflow: 'dataQualityWorkflow', from: '2010-12-01', to: '2011-12-09', concurrency: 3 });
    const result = await handle.result();
    assert.deepEqual({ total: result.total, done: result.done, failedDays: result.failedDays }, { total: 305, done: 305, failedDays: [] });
    const [{ failing }] = await wh.query<{ failing: number }>(`SELECT COUNT(DISTINCT check_date) AS failing FROM dq_results
      WHERE severity = 'fail' AND check_date <= CAST('2011-12-09' AS DATE)`);
    assert.equal(failing, 0, 'an ordinary day passes or warns');
    const sums = await wh.query<{ check_name: string; flagged: number; days: number }>(`SELECT check_name, SUM(flagged_lines) AS flagged,
      COUNT(DISTINCT check_date) AS days FROM dq_results WHERE check_date <= CAST('2011-12-09' AS DATE) GROUP BY check_name`);
    const flagged = Object.fromEntries(sums.map((s) => [s.check_name, s.flagged]));
    assert.ok(sums.every((s) => s.days === 305), 'one set of results per day');
    assert.equal(flagged['uniqueness.duplicate_lines'], 5_268);
    assert.equal(flagged['validity.negative_quantity'], 1_336);
    assert.equal(flagged['validity.zero_price'], 2_515);
    assert.equal(flagged['validity.negative_price'], 2);
    assert.equal(flagged['validity.invoice_prefix'], 3);
    assert.equal(flagged['completeness.missing_customer_id'], 135_080);
    assert.equal(flagged['completeness.missing_description'], 1_454);
    assert.equal(flagged['validity.non_product_code'], 2_950);
    const big = await wh.query<{ d: string }>(`SELECT check_date AS d FROM dq_results WHERE check_name = 'outliers.quantity_or_revenue'
      AND (examples LIKE '%"581483"%' OR examples LIKE '%"541431"%') ORDER BY d`);
    assert.deepEqual(big.map((r) => r.d), ['2011-01-18', '2011-12-09']);
  });
});

/** Copy day `from` to the empty day `to`, twice (doubled rows), without customers, one negative price. */
async function corruptCopyOfDay(wh: DuckDBWarehouse, from: string, to: string): Promise<void> {
  for (const copy of [1, 2]) {
    await wh.execute(`INSERT INTO orders_raw SELECT invoice_no, stock_code, description, quantity, invoice_ts + INTERVAL 193 DAY,
      CAST(@to AS DATE), unit_price, NULL, country, is_cancellation, 'corrupted-copy', line_no + @offset
      FROM orders_raw WHERE invoice_date = CAST(@from AS DATE)`, { from, to, offset: copy * 1_000_000 });
  }
  await wh.execute(`UPDATE orders_raw SET unit_price = -unit_price WHERE source_sha256 = 'corrupted-copy'
    AND line_no = (SELECT MIN(line_no) FROM orders_raw WHERE source_sha256 = 'corrupted-copy' AND quantity > 0 AND unit_price > 0)`);
}

/** Subscribe to dq-alerts, run `fn`, and return the alerts received until they stop arriving. */
async function collectAlerts(fn: () => Promise<unknown>): Promise<DqAlertEvent[]> {
  const pubsub = new PubSub(pubsubClientConfig({ projectId: TEST_PUBSUB_PROJECT, emulatorHost: services().pubsubHost }));
  await testEventBus().ensureTopic(DQ_ALERTS_TOPIC);
  const subName = `test-dq-alerts-${Date.now()}`;
  await testEventBus().ensureSubscription(DQ_ALERTS_TOPIC, subName);
  const received: DqAlertEvent[] = [];
  const sub = pubsub.subscription(subName);
  sub.on('message', (m: Message) => {
    received.push(JSON.parse(m.data.toString('utf8')) as DqAlertEvent);
    m.ack();
  });
  try {
    await fn();
    const deadline = Date.now() + 15_000;
    let seen = -1;
    while (Date.now() < deadline && (received.length === 0 || received.length !== seen)) {
      seen = received.length;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    return received;
  } finally {
    await sub.close();
    await pubsub.close();
  }
}

const silent = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error };

describe('@integration data-quality SQL on BigQuery (emulator)', function () {
  this.timeout(180_000);
  it('runs every check on the same lines and gets the same numbers as DuckDB', async () => {
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    const bq = await createBigQueryWarehouse({
      projectId: 'retailflow-test', dataset: `dq_${Date.now()}`, location: 'US', emulatorHost: services().bigqueryHost,
    });
    const duck = new DuckDBWarehouse({ path: ':memory:' });
    // Two days of real lines plus one broken line: enough for every check to have something to do.
    const head = realDataHead(4_000);
    const file = writeCsv([...head.slice(0, 3_500), '536999,broken,line', ...head.slice(3_500)]);
    const now = new Date('2026-01-01T00:00:00Z');
    try {
      const [a, b] = [await runOn(duck, file, now), await runOn(bq, file, now)];
      assert.deepEqual(b, a);
      const flagged = Object.fromEntries(a.map((r) => [r.check, r.flaggedLines]));
      assert.equal(flagged['schema.quarantined_lines'], 1);
      assert.ok(flagged['uniqueness.duplicate_lines'] > 0 && flagged['completeness.missing_customer_id'] > 0, 'checks found something');
    } finally {
      await bq.dropDataset();
      await bq.close();
      await duck.close();
    }
  });
});

async function runOn(wh: Warehouse, file: string, now: Date) {
  await loadOrdersFile(wh, file);
  const results = await runDayChecks(wh, '2010-12-02', loadThresholds(), now);
  return results.map(({ check, severity, observed, flaggedLines, examples }) =>
    ({ check, severity, observed: observed === null ? null : +observed.toFixed(9), flaggedLines, examples }));
}
