/** The operator CLI, run as users run it (node dist/tools/cli.js), against the test services. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { services } from './hooks';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { currentModel } from '../lib/model/registry';
import { runCli } from './support/cli';
import { freePort } from '../lib/process/supervisor';
import { referenceKpis } from './support/reference-kpis';
import { startTestWorker, TestWorker } from './support/worker';

const cli = runCli;

describe('CLI: ingest and summary', function () {
  this.timeout(60_000);
  const dir = tempDir();
  const env = { DUCKDB_PATH: path.join(dir, 'w.duckdb'), DATA_DIR: dir };

  it('ingest loads, a second ingest is a no-op, summary writes the CSV', async () => {
    const file = writeCsv(realDataHead(201));
    const first = await cli(['ingest', '--file', file], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /loaded: 200 rows, 0 quarantined/);
    // The progress total is this file's lines (header + 200), not the full data set's.
    assert.match(first.err, /ingest \[#+\] 100% 201\/201 /);
    const again = await cli(['ingest', '--file', file], env);
    assert.match(again.out, /already loaded \(use --force to reload\): 200 rows/);
    const summary = await cli(['summary'], env);
    assert.equal(summary.code, 0, summary.err);
    assert.match(fs.readFileSync(path.join(dir, 'dataset_summary.csv'), 'utf8'), /^column,count,nulls,distinct,min,max,mean\ninvoice_no,200,0,/);
  });

  it('a missing file or a wrong header is one clear line on stderr and exit code 1', async () => {
    const missing = await cli(['ingest', '--file', '/no/such.csv'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.err.trim(), 'error: data file not found: /no/such.csv (pass --file PATH or set DATA_CSV)');
    const wrong = await cli(['ingest', '--file', writeCsv(['a,b', '1,2'])], env);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /^error: .*wrong header: expected columns InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country/);
  });

  it('every command has --help', async () => {
    for (const args of [[], ['ingest'], ['summary'], ['analytics'], ['analytics', 'run'], ['analytics', 'backfill'], ['analytics', 'schedule']]) {
      const res = await cli([...args, '--help']);
      assert.equal(res.code, 0, args.join(' '));
      assert.match(res.out, /Usage: retailflow/);
    }
  });

  it('rejects a bad date and from > to before contacting any server', async () => {
    const bad = await cli(['analytics', 'run', '--date', '2011-02-30'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /date must be a calendar date YYYY-MM-DD, got "2011-02-30"/);
    const order = await cli(['analytics', 'backfill', '--from', '2011-12-09', '--to', '2011-12-01'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(order.code, 1);
    assert.match(order.err, /--from 2011-12-09 is after --to 2011-12-01/);
  });
});

describe('@integration CLI: analytics against Temporal', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let wh: DuckDBWarehouse;
  let worker: TestWorker;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    const { loadOrdersFile } = await import('../lib/ingest/load');
    await loadOrdersFile(wh, writeCsv(realDataHead(4000)));
    worker = await startTestWorker({ warehouse: wh, dataDir: dir, name: 'cli' });
    env = { TEMPORAL_ADDRESS: services().temporal.address, TEMPORAL_TASK_QUEUE: worker.taskQueue };
  });
  after(async () => {
    await worker?.stop();
    await wh?.close();
  });

  it('analytics run prints the exact KPIs of the day', async () => {
    const res = await cli(['analytics', 'run', '--date', '2010-12-01'], env);
    assert.equal(res.code, 0, res.err);
    const ref = referenceKpis(path.join(PROJECT_ROOT, '..', 'shared', 'data', 'online_retail.csv.gz'), ['2010-12-01']).get('2010-12-01')!;
    assert.match(res.out, new RegExp(`orders\\s+${ref.orders}\\n`));
    assert.match(res.out, new RegExp(`gross_revenue\\s+${Number(ref.gross_revenue).toFixed(2)}\\n`));
    assert.match(res.out, /workflow daily-analytics-2010-12-01: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/daily-analytics-2010-12-01/);
  });

  it('analytics run on a day without data fails with the reason and exit code 1', async () => {
    const res = await cli(['analytics', 'run', '--date', '2010-11-30'], env);
    assert.equal(res.code, 1);
    assert.match(res.err, /error: daily-analytics-2010-11-30 failed: no order lines on 2010-11-30/);
  });

  it('analytics backfill shows progress and the days done', async () => {
    const res = await cli(['analytics', 'backfill', '--from', '2010-11-28', '--to', '2010-12-03', '--concurrency', '2'], env);
    assert.equal(res.code, 0, res.err);
    assert.match(res.err, /backfill \[#+\] 100% (\d+)\/\1/);
    assert.match(res.out, /backfill 2010-11-28\.\.2010-12-03: (\d+)\/\1 days done, 0 failed/);
  });

  it('models train runs the training workflow, registers and promotes the version, and explains failures', async () => {
    const [{ last }] = await wh.query<{ last: string }>('SELECT MAX(invoice_date) AS last FROM orders_raw');
    const res = await cli(['models', 'train', '--tag', 'cli-train', '--boundary', last, '--trees', '6', '--seed', '1'], env);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^workflow model-training-cli-train: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/model-training-cli-train$/m);
    const version = /^registered (rf-\S+): (\d+) training rows, (\d+) holdout rows$/m.exec(res.out);
    assert.ok(version, res.out);
    assert.match(res.out, /^gate: first model: promoted with holdout MAE \d+\.\d+$/m);
    const current = await currentModel(wh);
    assert.equal(current?.version, version[1]);
    assert.equal(current?.params.nTrees, 6);
    assert.equal(current?.data.testFrom, last);

    const noHoldout = await cli(['models', 'train', '--tag', 'cli-late', '--boundary', '2030-01-01', '--trees', '2'], env);
    assert.equal(noHoldout.code, 1, noHoldout.out);
    assert.match(noHoldout.err, /^error: model-training-cli-late failed: .+/m);
    const badTag = await cli(['models', 'train', '--tag', 'a b'], env);
    assert.equal(badTag.code, 1);
    assert.match(badTag.err, /tag must be 1-100 letters, digits/);
  });

  it('dq run checks a day and dq report shows the stored results, worst days first', async () => {
    const run = await cli(['dq', 'run', '--date', '2010-12-01'], env);
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /^data quality 2010-12-01: (PASSED|WARNED) \(\d+ pass, \d+ warn, 0 fail\)$/m);
    const report = await cli(['dq', 'report', '--from', '2010-11-30', '--to', '2010-12-02'], { ...env, DUCKDB_PATH: path.join(dir, 'w.duckdb') });
    assert.equal(report.code, 0, report.err);
    assert.match(report.out, /^date\s+worst\s+fail\s+warn/m);
    assert.match(report.out, /^2010-12-01 {2}(pass|warn)\s+0\s+\d+/m);
    const none = await cli(['dq', 'report', '--from', '2009-01-01', '--to', '2009-01-31'], { ...env, DUCKDB_PATH: path.join(dir, 'w.duckdb') });
    assert.equal(none.code, 1);
    assert.match(none.err, /no data-quality results between 2009-01-01 and 2009-01-31/);
  });

  it('dq schedule create is idempotent and runs after analytics (02:00 UTC)', async () => {
    assert.match((await cli(['dq', 'schedule', 'create'], env)).out, /schedule data-quality created: daily at 02:00 UTC/);
    assert.match((await cli(['dq', 'schedule', 'create', '--minute', '30'], env)).out, /schedule data-quality updated: daily at 02:30 UTC/);
    assert.match((await cli(['dq', 'schedule', 'delete'], env)).out, /deleted/);
  });

  it('schedule create is idempotent, and pause / trigger / describe / delete work', async () => {
    assert.match((await cli(['analytics', 'schedule', 'create'], env)).out, /schedule daily-analytics created: daily at 01:00 UTC, overlap SKIP/);
    assert.match((await cli(['analytics', 'schedule', 'create', '--hour', '2'], env)).out, /schedule daily-analytics updated: daily at 02:00 UTC/);
    assert.match((await cli(['analytics', 'schedule', 'pause'], env)).out, /paused/);
    assert.match((await cli(['analytics', 'schedule', 'describe'], env)).out, /schedule daily-analytics: paused, next runs .*T02:00:00/);
    assert.match((await cli(['analytics', 'schedule', 'trigger'], env)).out, /triggered/);
    assert.match((await cli(['analytics', 'schedule', 'unpause'], env)).out, /resumed/);
    assert.match((await cli(['analytics', 'schedule', 'delete'], env)).out, /deleted/);
    const gone = await cli(['analytics', 'schedule', 'describe'], env);
    assert.equal(gone.code, 1);
  });
});


describe('CLI in a new shell with nothing running: one line that names the dependency, exit 1, no stack trace', function () {
  this.timeout(60_000);
  const dir = tempDir();
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const [temporalPort, pubsubPort] = [await freePort(), await freePort()];
    // A clean environment, as a new terminal has; the ports are free, so nothing answers there.
    env = {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RETAILFLOW_STACK_ENV: 'none',
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, PUBSUB_EMULATOR_HOST: `127.0.0.1:${pubsubPort}`,
      DUCKDB_PATH: path.join(dir, 'w.duckdb'), DATA_DIR: dir, RUN_DIR: dir,
    };
  });

  const expectOneLine = (res: { code: number | null; err: string }, pattern: RegExp) => {
    assert.equal(res.code, 1, res.err);
    assert.match(res.err, pattern);
    assert.doesNotMatch(res.err, /^\s+at /m, res.err);
    assert.equal(res.err.trim().split('\n').length, 1, res.err);
  };

  it('analytics run without Temporal', async () => {
    expectOneLine(await runCli(['analytics', 'run', '--date', '2011-12-09'], env, 60_000, { cleanEnv: true }),
      /^error: Temporal not reachable at 127\.0\.0\.1:\d+ .*: is the platform running \(npm start\)\?/);
  });

  it('stream generate before any data, then without the Pub/Sub emulator', async () => {
    expectOneLine(await runCli(['stream', 'generate', '--count', '5'], env, 60_000, { cleanEnv: true }),
      /^error: table orders_raw does not exist in the warehouse: load the data first: retailflow ingest$/m);
    const load = await runCli(['ingest', '--file', writeCsv(realDataHead(500))], env, 60_000, { cleanEnv: true });
    assert.equal(load.code, 0, load.err);
    expectOneLine(await runCli(['stream', 'generate', '--count', '5'], env, 60_000, { cleanEnv: true }),
      /^error: Pub\/Sub emulator not reachable at 127\.0\.0\.1:\d+: is the platform running \(npm start\)\?/);
  });
});
