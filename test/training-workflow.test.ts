/** trainingWorkflow end to end on a slice of the real data: extract (SQL), train, evaluate, register, gate. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrdersFile } from '../lib/ingest/load';
import { currentModel, listModels, promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { trainingWorkflow, trainingWorkflowId } from '../workflows/training';
import { services } from './hooks';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { fakeModel } from './support/model-fixtures';
import { startTestWorker, TestWorker } from './support/worker';

describe('@integration trainingWorkflow', function () {
  this.timeout(180_000);
  const dir = tempDir();
  const storeDir = path.join(dir, 'models');
  let wh: DuckDBWarehouse;
  let worker: TestWorker;
  let boundary: string;

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    await loadOrdersFile(wh, writeCsv(realDataHead(12_001)));
    // Hold out the slice's last day.
    [{ boundary }] = await wh.query<{ boundary: string }>('SELECT MAX(invoice_date) AS boundary FROM orders_raw');
    worker = await startTestWorker({ warehouse: wh, dataDir: dir, name: 'training', modelStoreDir: storeDir });
  });
  after(async () => {
    await worker?.stop();
    await wh?.close();
  });

  const train = (tag: string, params: Record<string, number>, tolerance?: number) =>
    services().temporal.client.workflow.execute(trainingWorkflow, {
      taskQueue: worker.taskQueue,
      workflowId: trainingWorkflowId(tag),
      args: [{ boundary, params: { threads: 1, seed: 7, ...params }, tolerance }],
    });

  it('trains, registers with metrics, baselines and checksum, and promotes the first model', async () => {
    const result = await train('first', { nTrees: 20, minSamplesLeaf: 3 });
    assert.ok(result.trainRows > 5_000 && result.testRows > 500, `${result.trainRows} / ${result.testRows}`);
    assert.ok(Number.isFinite(result.metrics.mae) && result.metrics.mae > 0);
    assert.equal(result.gate.promoted, true);
    assert.equal(result.gate.previous, undefined);
    const current = await currentModel(wh);
    assert.equal(current?.version, result.version);
    assert.equal(current?.data.testFrom, boundary);
    assert.deepEqual(current?.featureNames, ['quantity', 'unit_price', 'hour', 'day_of_week', 'is_uk', 'customer_known']);
    assert.equal(current?.params.nTrees, 20);
    assert.ok(fs.existsSync(current!.artifact.path), 'artifact stored');
    assert.ok(!fs.existsSync(path.join(storeDir, 'staging')) || fs.readdirSync(path.join(storeDir, 'staging')).length === 0, 'staging cleaned');
  });

  it('keeps the current model when the new one is worse on holdout MAE, and says why', async () => {
    // A promoted model with an unbeatable holdout MAE of 1.0 (registry entry with a fake artifact).
    await registerModel(wh, new FileModelStore(storeDir), fakeModel('rf-unbeatable', 1.0));
    await promote(wh, 'rf-unbeatable');
    const result = await train('worse', { nTrees: 20, minSamplesLeaf: 3 });
    assert.equal(result.gate.promoted, false);
    assert.match(result.gate.reason, /MAE/);
    assert.equal((await currentModel(wh))?.version, 'rf-unbeatable');
    assert.equal((await listModels(wh)).length, 3);
  });

  it('promotes a new model whose holdout MAE is within the tolerance of the current one', async () => {
    await promote(wh, (await listModels(wh)).find((m) => m.version !== 'rf-unbeatable')!.version);
    const before = await currentModel(wh);
    // Same data, params and seed: the same MAE, which the gate accepts (no worse, tolerance 0).
    const result = await train('same', { nTrees: 20, minSamplesLeaf: 3 }, 0);
    assert.equal(result.metrics.mae, before?.metrics.mae, 'training is deterministic');
    assert.equal(result.gate.promoted, true, result.gate.reason);
    assert.equal(result.gate.previous, before?.version);
    assert.equal((await currentModel(wh))?.version, result.version);
  });
});
