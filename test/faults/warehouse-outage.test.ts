/**
 * Fault: the warehouse goes away mid-workflow (issue 15, fault suite). A BigQuery emulator of its
 * own, on a database file so a restart keeps the data, holds the first days of the real data set.
 * It is stopped, a day's analytics workflow is started on a real worker, and the emulator comes
 * back 20 s later on the same ports. Must hold: the steps retry (attempt > 1 in the history), the
 * workflow completes, its KPIs equal the same day computed on DuckDB, and daily_metrics holds the
 * day once.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { startDailyAnalytics } from '../../clients/per-day';
import { computeDailyReport } from '../../lib/analytics/daily';
import { bigqueryEmulatorSpec } from '../../lib/emulators';
import { loadOrdersFile } from '../../lib/ingest/load';
import { freePorts } from '../../lib/process/ports';
import { Supervisor } from '../../lib/process/supervisor';
import { createBigQueryWarehouse, type BigQueryWarehouse } from '../../lib/warehouse/bigquery';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { services } from '../hooks';
import { realDataHead, tempDir, writeCsv } from '../support/fixtures';
import { startTestWorker, type TestWorker } from '../support/worker';
import { activityAttempts } from '../support/workflow-test-env';

const DAY = '2010-12-02';
const PROJECT = 'retailflow-outage';
/** Longer than the BigQuery client's own retries of a refused connection, so the activity retries too. */
const OUTAGE_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('@integration fault: the warehouse (BigQuery emulator) stopped mid-workflow', function () {
  this.timeout(180_000);
  const dir = tempDir('retailflow-outage-');
  const database = path.join(dir, 'bigquery.db');
  let ports: number[];
  let emulator: Supervisor | undefined;
  let worker: TestWorker | undefined;
  let wh: BigQueryWarehouse;

  const startEmulator = async () => {
    emulator = new Supervisor({ logDir: dir, stopGraceMs: 5_000 });
    const spec = bigqueryEmulatorSpec('127.0.0.1', ports[0], ports[1], { project: PROJECT });
    await emulator.start({ ...spec, args: [...(spec.args ?? []), '--database', database] });
  };

  before(async () => {
    ports = await freePorts(2);
    await startEmulator();
    wh = await createBigQueryWarehouse({ projectId: PROJECT, dataset: 'outage', location: 'US', emulatorHost: `127.0.0.1:${ports[0]}` });
    await loadOrdersFile(wh, writeCsv(realDataHead(8_001)));
    worker = await startTestWorker({ warehouse: wh, dataDir: dir, name: 'outage' });
  });
  after(async () => {
    await worker?.stop();
    await emulator?.stop();
  });

  it('retries while it is down, completes once it is back, with the DuckDB KPIs and one row for the day', async function () {
    await emulator?.stop();
    const stoppedAt = Date.now();
    const handle = await startDailyAnalytics(services().temporal.client, worker!.taskQueue, DAY);
    await sleep(OUTAGE_MS);
    await startEmulator();
    const result = (await handle.result()) as { kpis: unknown };
    assert.ok(Date.now() - stoppedAt >= OUTAGE_MS, 'the day could not finish while the warehouse was down');

    const attempts = activityAttempts(await handle.fetchHistory());
    assert.ok(attempts.some((a) => a.attempt > 1), `no step was retried: ${JSON.stringify(attempts)}`);
    const rows = await wh.query<{ n: number; orders: number }>('SELECT COUNT(*) AS n, MAX(orders) AS orders FROM daily_metrics WHERE report_date = @d', { d: DAY });
    assert.equal(Number(rows[0].n), 1, 'the day is stored once');

    const duck = new DuckDBWarehouse({ path: ':memory:' });
    try {
      await loadOrdersFile(duck, writeCsv(realDataHead(8_001)));
      const reference = await computeDailyReport(duck, DAY);
      assert.equal(Number(rows[0].orders), reference.kpis.orders);
      assert.deepEqual(result.kpis, reference.kpis);
    } finally {
      await duck.close();
    }
    if (this.test) this.test.title += ` [${JSON.stringify(attempts)}]`;
  });
});
