/** trainingWorkflow end to end on a slice of the real data: extract (SQL), train, evaluate, register, gate. */
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, Duration } from '@temporalio/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrdersFile } from '../lib/ingest/load';
import { REGISTRY_BEGIN, REGISTRY_END } from '../lib/model/model-info';
import { currentModel, listModels, promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { trainingWorkflowId } from '../lib/temporal/contract';
import { trainingWorkflow } from '../workflows/training';
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
  // The worker regenerates this document (never the repository's docs/model_info.md).
  const infoPath = path.join(dir, 'model_info.md');
  const savedInfoPath = process.env.MODEL_INFO_PATH;
  const info = () => fs.readFileSync(infoPath, 'utf8');

  before(async () => {
    fs.writeFileSync(infoPath, `# Revenue model\n\nHand-written.\n\n${REGISTRY_BEGIN}\n${REGISTRY_END}\n\n## Learner\n`);
    process.env.MODEL_INFO_PATH = infoPath; // read by loadConfig() in startTestWorker
    wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    await loadOrdersFile(wh, writeCsv(realDataHead(12_001)));
    // Hold out the slice's last day.
    [{ boundary }] = await wh.query<{ boundary: string }>('SELECT MAX(invoice_date) AS boundary FROM orders_raw');
    worker = await startTestWorker({ warehouse: wh, dataDir: dir, name: 'training', modelStoreDir: storeDir });
  });
  after(async () => {
    if (savedInfoPath === undefined) delete process.env.MODEL_INFO_PATH;
    else process.env.MODEL_INFO_PATH = savedInfoPath;
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
    // docs/model_info.md (here: the configured temp path) regenerated after the gate.
    assert.deepEqual(result.modelInfo, { written: true, path: infoPath });
    const doc = info();
    assert.ok(doc.startsWith('# Revenue model\n\nHand-written.\n\n<!-- registry:begin -->\n') && doc.endsWith('<!-- registry:end -->\n\n## Learner\n'), doc);
    assert.ok(doc.includes(`### Promoted version: \`${result.version}\`\n`), doc);
    assert.ok(doc.includes(`| artifact SHA-256 | \`${current!.artifact.sha256}\` |`), doc);
    assert.ok(doc.includes(`\`${result.version}\`: promoted. first model: promoted with holdout MAE`), doc);
    assert.match(doc, new RegExp(`^\\| \`${result.version}\` \\| \\*\\*promoted\\*\\* \\|`, 'm'));
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
    // Rejected, but registered: the document lists it and says why the gate kept the current one.
    assert.equal(result.modelInfo.written, true);
    const doc = info();
    assert.ok(doc.includes('### Promoted version: `rf-unbeatable`\n'), doc);
    assert.ok(doc.includes(`\`${result.version}\`: not promoted. kept rf-unbeatable: holdout MAE`), doc);
    assert.match(doc, new RegExp(`^\\| \`${result.version}\` \\| registered \\|`, 'm'));
    assert.match(doc, /^### Versions \(3, newest first\)$/m);
  });

  it('promotes a new model whose holdout MAE is within the tolerance of the current one', async () => {
    await promote(wh, (await listModels(wh)).find((m) => m.version !== 'rf-unbeatable')!.version);
    const before = await currentModel(wh);
    // Same data, params and seed: the same MAE, which the gate accepts (no worse, tolerance 0).
    // And a document that cannot be regenerated (markers gone) is reported, not a failed run.
    fs.writeFileSync(infoPath, '# Revenue model\n\nsomeone removed the markers\n');
    const result = await train('same', { nTrees: 20, minSamplesLeaf: 3 }, 0);
    assert.equal(result.metrics.mae, before?.metrics.mae, 'training is deterministic');
    assert.equal(result.gate.promoted, true, result.gate.reason);
    assert.equal(result.gate.previous, before?.version);
    assert.equal((await currentModel(wh))?.version, result.version);
    assert.equal(result.modelInfo.written, false);
    assert.match(result.modelInfo.error ?? '', /model_info\.md needs exactly one "<!-- registry:begin -->"/);
    assert.equal(info(), '# Revenue model\n\nsomeone removed the markers\n');
  });

  it('rejects an unusable trainHeartbeatTimeout before doing any work', async () => {
    for (const bad of ['10ms', 'soon']) {
      await assert.rejects(
        services().temporal.client.workflow.execute(trainingWorkflow, {
          taskQueue: worker.taskQueue,
          workflowId: trainingWorkflowId(`bad-heartbeat-${bad}`),
          args: [{ boundary, trainHeartbeatTimeout: bad as Duration }],
        }),
        (err: Error) => err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidInputError'
          && /trainHeartbeatTimeout must be a duration of at least 1 s/.test(err.cause.message),
      );
    }
  });
});
