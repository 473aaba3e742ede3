/**
 * `npm run demo` end to end, small (the first 8,000 lines of the data set, 300 live orders): the
 * demo starts the platform itself in a temp RUN_DIR on free ports, runs the tour and exits 0 with
 * the KPIs and the stream's share printed; a second run uses the running platform, loads nothing
 * twice, trains nothing again, and today's KPIs grow by exactly its 300 live lines; the full demo
 * then refuses to load the whole file over those first lines (they would count twice).
 * Needs `npm run build` first and the tools from `npm run setup`.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { readStackStatus } from '../../lib/process/status';
import { ADDRESS_IN_USE, freePorts, isPidAlive, signalGroup } from '../../lib/process/supervisor';
import type { DemoRecord } from '../../scripts/demo';
import { sleep } from '../support/stack';

const DEMO = path.join(PROJECT_ROOT, 'dist', 'scripts', 'demo.js');
const RUN_TIMEOUT_MS = 300_000;
const LIVE = 300;

interface DemoRun {
  code: number | null;
  out: string;
  ms: number;
}

function runDemo(env: NodeJS.ProcessEnv, args = ['--small', '--lines', '8000', '--count', String(LIVE)]): Promise<DemoRun> {
  const began = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], { cwd: PROJECT_ROOT, env, timeout: RUN_TIMEOUT_MS });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, ms: Date.now() - began }));
  });
}

async function demoEnv(runDir: string): Promise<NodeJS.ProcessEnv> {
  const [grpc, ui, pubsub, api, metrics, health, streamHealth, streamMetrics] = await freePorts(8);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RUN_DIR: runDir,
    WAREHOUSE: 'duckdb',
    DUCKDB_PATH: path.join(runDir, 'warehouse.duckdb'),
    DATA_DIR: path.join(runDir, 'data'),
    MODEL_STORE_DIR: path.join(runDir, 'models'),
    MODEL_INFO_PATH: path.join(runDir, 'model_info.md'),
    TEMPORAL_ADDRESS: `127.0.0.1:${grpc}`,
    TEMPORAL_UI_PORT: String(ui),
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${pubsub}`,
    API_PORT: String(api),
    WORKER_METRICS_PORT: String(metrics),
    WORKER_HEALTH_PORT: String(health),
    STREAM_HEALTH_PORT: String(streamHealth),
    STREAM_METRICS_PORT: String(streamMetrics),
  };
  // As in a user's shell: the demo's commands find the stack through RUN_DIR/stack.env.
  delete env.RETAILFLOW_STACK_ENV;
  delete env.BIGQUERY_EMULATOR_HOST;
  delete env.DEMO_SMALL;
  return env;
}

const record = (runDir: string): DemoRecord => JSON.parse(fs.readFileSync(path.join(runDir, 'demo-last.json'), 'utf8')) as DemoRecord;

/** Stops the stack the demo left running: SIGTERM to its pid (stack.json), then SIGKILL to whatever is left. */
async function stopStack(runDir: string): Promise<void> {
  const status = readStackStatus(path.join(runDir, 'stack.json'));
  if (!status) return;
  if (isPidAlive(status.pid)) process.kill(status.pid, 'SIGTERM');
  for (let i = 0; i < 300 && isPidAlive(status.pid); i++) await sleep(100);
  if (isPidAlive(status.pid)) process.kill(status.pid, 'SIGKILL');
  for (const part of status.parts) if (part.pid) signalGroup(part.pid, 'SIGKILL');
}

describe('npm run demo (small) @integration', function () {
  this.timeout(2 * RUN_TIMEOUT_MS + 60_000);
  let runDir: string;
  let env: NodeJS.ProcessEnv;
  let first: DemoRun;
  let firstRecord: DemoRecord;
  let secondRecord: DemoRecord;

  before(async function () {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-demo-'));
    assert.ok(fs.existsSync(DEMO), `${DEMO} is missing: run "npm run build" first`);
    // A port picked free can be taken before the stack binds it: then once more on new ports.
    for (let attempt = 1; ; attempt++) {
      env = await demoEnv(runDir);
      first = await runDemo(env);
      if (first.code === 0 || attempt >= 2 || !ADDRESS_IN_USE.test(first.out)) break;
      await stopStack(runDir);
    }
  });

  after(async function () {
    this.timeout(60_000);
    if (runDir) {
      await stopStack(runDir);
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('runs the tour from nothing: starts the platform, exits 0, prints the KPIs with the stream share and the URLs', () => {
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /started: pid \d+/);
    assert.match(first.out, /loaded 7,999 rows into orders_raw/);
    assert.match(first.out, /registered rf-/);
    assert.match(first.out, /backfill 2010-12-01\.\.2010-12-05: 4\/4 days done, 0 failed/);
    assert.match(first.out, /data-quality backfill 2010-12-01\.\.2010-12-05: 4\/4 days checked/);
    assert.match(first.out, /stream share: [\d,]+ of [\d,]+ lines \(\d+\.\d%\)/);
    assert.match(first.out, /predicted vs actual: £[\d,.]+ predicted vs £[\d,.]+ actual/);
    assert.match(first.out, /data quality: (passed|warned|failed) \(\d+ pass, \d+ warn, \d+ fail\)/);
    assert.match(first.out, /Temporal Web UI +http:\/\/127\.0\.0\.1:\d+/);
    assert.match(first.out, /dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard/);
    assert.match(first.out, /Stop it with: kill \d+/);
    firstRecord = record(runDir);
    assert.equal(firstRecord.ingest.status, 'loaded');
    assert.equal(firstRecord.live.stored, LIVE);
    assert.equal(firstRecord.today.stream_lines, LIVE, JSON.stringify(firstRecord.today));
    assert.equal(firstRecord.today.batch_lines, 0);
    assert.equal(firstRecord.lastDay.predictions.status, 'scored');
    console.log(`      first run: ${(first.ms / 1000).toFixed(1)} s`);
  });

  it('a second run uses the running platform, loads and trains nothing again, and adds exactly its live orders', async () => {
    assert.ok(firstRecord, 'the first run succeeded');
    const pid = readStackStatus(path.join(runDir, 'stack.json'))?.pid;
    const second = await runDemo(env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, new RegExp(`already running: pid ${pid}`));
    assert.match(second.out, /already loaded: a no-op/);
    assert.match(second.out, /is promoted already: not trained again/);
    assert.match(second.out, new RegExp(`\\+${LIVE} = this run's ${LIVE} live orders \\(nothing counted twice\\)`));
    assert.match(second.out, /data-quality backfill 2010-12-01\.\.2010-12-05: 4\/4 days checked/);
    const again = (secondRecord = record(runDir));
    assert.equal(again.ingest.status, 'already-loaded');
    assert.equal(again.model.trained, false);
    assert.equal(again.model.version, firstRecord.model.version);
    // The loaded lines of a day are not doubled; today's KPIs are the first run's plus this run's live lines.
    assert.deepEqual(again.lastDay.kpis, firstRecord.lastDay.kpis);
    assert.equal(again.today.batch_lines, 0);
    assert.equal(again.today.stream_lines, (firstRecord.today.stream_lines ?? 0) + LIVE);
    assert.equal(again.today.total_lines, firstRecord.today.total_lines + LIVE);
    console.log(`      second run: ${(second.ms / 1000).toFixed(1)} s`);
  });

  it('refuses to load the whole data set over the first lines of it (their common lines would count twice)', async () => {
    assert.ok(secondRecord, 'the second run succeeded');
    const full = await runDemo(env, []);
    assert.equal(full.code, 1, full.out);
    assert.match(full.out, /already holds .*orders-head-8000\.csv \(2010-12-01\.\.2010-12-05\), another file over the same days/);
    // Nothing was loaded: the record of the last good run stands.
    assert.equal(record(runDir).finishedAt, secondRecord.finishedAt);
  });
});
