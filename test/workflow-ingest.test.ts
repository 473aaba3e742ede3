import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, ActivityFailure } from '@temporalio/common';
import { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../lib/config';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { ingestWorkflow } from '../workflows';
import { services, testEventBus } from './hooks';
import { HEADER, realDataHead, tempDir, writeCsv } from './support/fixtures';
import { workflowBundle } from './support/worker';

describe('@integration ingestWorkflow on the Temporal dev server', function () {
  this.timeout(120_000);
  let bundle: WorkflowBundleWithSourceMap;
  let wh: DuckDBWarehouse;
  const dataDir = tempDir();

  before(async () => {
    bundle = await workflowBundle();
    wh = new DuckDBWarehouse({ path: path.join(dataDir, 'warehouse.duckdb') });
  });
  after(() => wh.close());

  async function run<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
    const { temporal } = services();
    const taskQueue = `test-ingest-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const worker = await Worker.create({
      connection: temporal.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: createActivities({ warehouse: wh, config: { ...loadConfig(), dataDir }, eventBus: testEventBus() }),
    });
    return worker.runUntil(fn(taskQueue));
  }

  it('loads the first 1,000 real lines plus a broken one, and writes the dataset summary', async () => {
    const file = writeCsv([...realDataHead(1001), '536999,X,BROKEN,notanumber,12/1/2010 8:26,1,,United Kingdom']);
    const result = await run((taskQueue) =>
      services().temporal.client.workflow.execute(ingestWorkflow, { taskQueue, workflowId: `ingest-test-${taskQueue}`, args: [{ file }] }),
    );
    assert.equal(result.load.status, 'loaded');
    assert.equal(result.load.rowsLoaded, 1000);
    assert.equal(result.load.rowsQuarantined, 1);
    assert.equal(result.summary.summary.rows, 1000);
    assert.equal(result.summary.csvPath, path.join(dataDir, 'dataset_summary.csv'));
    assert.match(fs.readFileSync(result.summary.csvPath, 'utf8'), /^column,count,nulls,distinct,min,max,mean\n/);
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_quarantine WHERE line_no = 1002');
    assert.equal(n, 1);
  });

  it('fails fast, without retries, on a wrong header', async () => {
    const file = writeCsv(['a,b,c', '1,2,3'], { name: 'wrong.csv' });
    await assert.rejects(
      run((taskQueue) =>
        services().temporal.client.workflow.execute(ingestWorkflow, { taskQueue, workflowId: `ingest-bad-${taskQueue}`, args: [{ file }] }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ActivityFailure);
        const app = err.cause.cause;
        assert.ok(app instanceof ApplicationFailure);
        assert.equal(app.type, 'IngestError');
        assert.match(app.message, /expected columns InvoiceNo,StockCode/);
        return true;
      },
    );
  });

  it('re-running the same file through the workflow is a no-op', async () => {
    const file = writeCsv([HEADER, ...realDataHead(51).slice(1)]);
    const execute = () =>
      run((taskQueue) =>
        services().temporal.client.workflow.execute(ingestWorkflow, { taskQueue, workflowId: `ingest-twice-${taskQueue}`, args: [{ file }] }),
      );
    const first = await execute();
    const second = await execute();
    assert.equal(first.load.status, 'loaded');
    assert.equal(second.load.status, 'already-loaded');
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_raw WHERE source_sha256 = @s', { s: first.load.sourceSha256 });
    assert.equal(n, 50);
  });
});

