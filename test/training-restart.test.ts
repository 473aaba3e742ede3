/**
 * Training survives losing its worker: the real worker process (node dist/workers/main.js) is
 * SIGKILLed in the middle of trainModel, after the server has seen a heartbeat with trees done; a
 * second worker process on the same task queue picks up the retry (the heartbeat timeout, short
 * here through TrainingInput.trainHeartbeatTimeout, tells the server the first one is gone) and the
 * workflow completes with the model registered. Build first: `npx tsc -p .`.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { PROJECT_ROOT } from '../lib/config';
import { loadOrdersFile } from '../lib/ingest/load';
import { REGISTRY_BEGIN, REGISTRY_END } from '../lib/model/model-info';
import { findModel } from '../lib/model/registry';
import { trainingProgress } from '../clients/training';
import { freePort, httpStatus } from '../lib/process/supervisor';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { trainingWorkflowId } from '../lib/temporal/contract';
import { trainingWorkflow } from '../workflows/training';
import { services } from './hooks';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';

const WORKER_MAIN = path.join(PROJECT_ROOT, 'dist', 'workers', 'main.js');
/** dist must hold the code under test: the worker process runs it, and bundles dist/workflows. */
const SOURCES = ['workers/main.ts', 'workflows/training.ts', 'activities/model.ts', 'lib/model/training.ts'].map((f) => path.join(PROJECT_ROOT, f));

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

/**
 * One thread, ~100,000 lines: 30-60 ms a tree, so 400 trees take 12-25 s, far longer than the
 * first heartbeat with trees done needs to reach the server (heartbeats are throttled to 80% of
 * the heartbeat timeout, here 2.4 s).
 */
const N_TREES = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** trainModel's pending-activity state as the server sees it; fails fast if the workflow ended early. */
async function pendingTraining(handle: WorkflowHandle): Promise<{ attempt: number; treesDone: number } | undefined> {
  const progress = await trainingProgress(handle);
  if (progress.status !== 'RUNNING') throw new Error(`the workflow is ${progress.status}: ${JSON.stringify(await handle.result().catch((e: Error) => (e.cause as Error | undefined)?.message ?? e.message))}`);
  return progress.training;
}

describe('@integration trainingWorkflow survives a worker restart', function () {
  this.timeout(150_000);
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  const taskQueue = `test-training-restart-${Date.now()}`;
  const workers: WorkerProcess[] = [];
  let baseEnv: NodeJS.ProcessEnv;
  let boundary: string;

  /** A worker process configured by env only, as `npm start` runs it; resolves once its /health is 200. */
  async function startWorker(name: string): Promise<WorkerProcess> {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    const log = path.join(dir, `${name}.log`);
    const out = fs.openSync(log, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', WORKER_MAIN], {
      cwd: PROJECT_ROOT,
      env: { ...baseEnv, WORKER_METRICS_PORT: String(metricsPort), WORKER_HEALTH_PORT: String(healthPort) },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    const w: WorkerProcess = { name, child, log, exited };
    workers.push(w);
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + 60_000;
    while ((await httpStatus(`http://127.0.0.1:${healthPort}/health`, 1_000).catch(() => 0)) !== 200) {
      if (gone) throw new Error(`${name} exited before it was healthy:\n${fs.readFileSync(log, 'utf8')}`);
      if (Date.now() > deadline) throw new Error(`${name} not healthy after 60 s:\n${fs.readFileSync(log, 'utf8')}`);
      await sleep(200);
    }
    return w;
  }

  before(async function () {
    assert.ok(fs.existsSync(WORKER_MAIN), `${WORKER_MAIN} is missing: run "npx tsc -p ." first`);
    for (const src of SOURCES) {
      const built = path.join(PROJECT_ROOT, 'dist', path.relative(PROJECT_ROOT, src).replace(/\.ts$/, '.js'));
      assert.ok(fs.existsSync(built) && fs.statSync(src).mtimeMs <= fs.statSync(built).mtimeMs, `${src} is newer than dist: run "npx tsc -p ." first`);
    }
    fs.mkdirSync(dataDir);
    const duckdbPath = path.join(dir, 'w.duckdb');
    // ~127,000 training lines (see N_TREES).
    const wh = new DuckDBWarehouse({ path: duckdbPath });
    try {
      const csv = writeCsv(realDataHead(130_001));
      await loadOrdersFile(wh, csv);
      fs.rmSync(path.dirname(csv), { recursive: true, force: true });
      // Hold out the slice's last day (the slice ends long before the default 2011-11-01).
      [{ boundary }] = await wh.query<{ boundary: string }>('SELECT MAX(invoice_date) AS boundary FROM orders_raw');
    } finally {
      await wh.close(); // the worker processes open the file
    }
    fs.writeFileSync(path.join(dir, 'model_info.md'), `# Revenue model\n\n${REGISTRY_BEGIN}\n${REGISTRY_END}\n`);
    baseEnv = {
      ...process.env,
      RETAILFLOW_ENV: 'local',
      TEMPORAL_ADDRESS: services().temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      PUBSUB_EMULATOR_HOST: services().pubsubHost,
      PUBSUB_PROJECT_ID: 'retailflow-test',
      WAREHOUSE: 'duckdb',
      DUCKDB_PATH: duckdbPath,
      DATA_DIR: dataDir,
      MODEL_STORE_DIR: path.join(dir, 'models'),
      MODEL_INFO_PATH: path.join(dir, 'model_info.md'),
      LOG_LEVEL: 'warn',
    };
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      for (const w of workers) console.error(`--- ${w.name} log (${w.log}) ---\n${fs.existsSync(w.log) ? fs.readFileSync(w.log, 'utf8').slice(-4_000) : ''}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    // Even after a failure: no worker process outlives the test.
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        const done = await Promise.race([w.exited.then(() => true), sleep(20_000).then(() => false)]);
        if (!done) {
          w.child.kill('SIGKILL');
          await w.exited;
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('kills the worker mid-training; a second worker retries trainModel and the model is registered', async () => {
    const first = await startWorker('worker-1');
    const client = services().temporal.client;
    const handle = await client.workflow.start(trainingWorkflow, {
      taskQueue,
      workflowId: trainingWorkflowId(`restart-${Date.now()}`),
      args: [{
        boundary,
        params: { nTrees: N_TREES, minSamplesLeaf: 20, threads: 1, seed: 3 },
        // Short, so the lost worker is noticed in seconds (default 2 minutes).
        trainHeartbeatTimeout: '3 seconds',
        note: 'restart test',
      }],
    });

    // Wait until the server has a heartbeat from the first attempt with trees done.
    let seen: { attempt: number; treesDone: number } | undefined;
    const deadline = Date.now() + 60_000;
    while (!(seen && seen.attempt === 1 && seen.treesDone > 0)) {
      assert.ok(Date.now() < deadline, `no trainModel heartbeat with trees done within 60 s (last: ${JSON.stringify(seen)})`);
      assert.equal(first.child.exitCode, null, 'worker-1 exited on its own');
      await sleep(200);
      seen = await pendingTraining(handle);
    }
    const treesAtKill = seen.treesDone;
    assert.ok(treesAtKill < N_TREES, `training finished before the kill (${treesAtKill} trees): make it longer`);

    first.child.kill('SIGKILL');
    assert.equal(await first.exited, -1, 'worker-1 died by the signal');
    const killedAt = Date.now();

    await startWorker('worker-2');
    const result = await handle.result();
    const recoverySeconds = (Date.now() - killedAt) / 1000;

    // trainModel ran again: the history records the attempt that completed.
    const history = await handle.fetchHistory();
    const scheduled = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel');
    assert.ok(scheduled, 'trainModel was scheduled');
    const started = (history.events ?? []).find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
    const attempt = started?.activityTaskStartedEventAttributes?.attempt ?? 0;
    assert.ok(attempt >= 2, `trainModel completed on attempt ${attempt}, expected a retry after the kill`);
    const completed = (history.events ?? []).find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
    assert.ok(completed, 'trainModel completed');

    // The model is registered (and, being the first, promoted), its artifact stored, the document regenerated.
    assert.equal(result.gate.promoted, true, result.gate.reason);
    assert.deepEqual(result.modelInfo, { written: true, path: path.join(dir, 'model_info.md') });
    assert.ok(fs.readFileSync(path.join(dir, 'model_info.md'), 'utf8').includes(`### Promoted version: \`${result.version}\``));
    for (const w of workers.filter((x) => x.child.exitCode === null)) {
      w.child.kill('SIGTERM'); // release the DuckDB file to read the registry here
      await w.exited;
    }
    const wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    try {
      const model = await findModel(wh, result.version);
      assert.equal(model?.status, 'promoted');
      assert.equal(model?.params.nTrees, N_TREES);
      assert.equal(model?.note, 'restart test');
      assert.ok(model && fs.existsSync(model.artifact.path), 'artifact stored');
    } finally {
      await wh.close();
    }
    console.log(`      killed after ${treesAtKill}/${N_TREES} trees; recovered on attempt ${attempt} in ${recoverySeconds.toFixed(1)} s`);
  });
});
