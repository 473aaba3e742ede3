/**
 * Fault: DuckDB contention (issue 15, fault suite). In `npm start` the worker, the consumer and
 * the API are three processes on one DuckDB file, which one process at a time may hold. All at
 * once, on the full real data set:
 * - a stream at 3,000 lines/s for 30 s (the consumer writes and scores every batch);
 * - the full-year backfill, 305 days (the worker reads and writes every day);
 * - API load: /predict (scored by the promoted model) and the dashboard's /api/v1/kpis, which
 *   reads the warehouse.
 *
 * Must hold: all of it completes; no lock timeout reaches a user (no failed CLI, no non-2xx
 * answer, no lock error in any log, no process restarted); every count is exact: the 305 days
 * equal the independent reference, and stored + duplicates + dead-lettered = published.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { PROJECT_ROOT } from '../../lib/config';
import { loadOrdersFile } from '../../lib/ingest/load';
import { promote, registerModel } from '../../lib/model/registry';
import { FileModelStore } from '../../lib/model/store';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { CLI } from '../support/cli';
import { realDataFile, tempDir } from '../support/fixtures';
import { fakeModel, smallForest } from '../support/model-fixtures';
import { assertBackfillExact, streamSettles, streamStats } from '../support/stack-checks';
import { startStack, stopStack, waitForExit, type RunningStack } from '../support/stack';

const YEAR = { from: '2010-12-01', to: '2011-12-09' };
const STREAM = { rate: 3_000, seconds: 30 };
const PREDICT_BODY = JSON.stringify({ Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 });
/** What a lock timeout or a refused open looks like in any part's log. */
const LOCK_TROUBLE = /Could not set lock|Conflicting lock|cannot open DuckDB warehouse/i;

interface Started {
  proc: ChildProcess;
  output: () => string;
}

function startCli(stack: RunningStack, args: string[]): Started {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: stack.env });
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { proc, output: () => output };
}

async function finished(run: Started, what: string, timeoutMs: number): Promise<string> {
  const code = await waitForExit(run.proc, timeoutMs);
  assert.equal(code, 0, `${what} ended with ${code}:\n${run.output().slice(-3_000)}`);
  return run.output();
}

/** API load at a bounded rate (the machine has 2 cores; the other parts need them too). */
function apiLoad(stack: RunningStack, seconds: number) {
  const base = `http://127.0.0.1:${stack.ports.api}`;
  return Promise.all([
    autocannon({ url: `${base}/predict`, connections: 10, overallRate: 500, duration: seconds, method: 'POST', headers: { 'content-type': 'application/json' }, body: PREDICT_BODY }),
    autocannon({ url: `${base}/api/v1/kpis`, connections: 2, overallRate: 20, duration: seconds }),
  ]);
}

describe('@integration fault: DuckDB contention (a stream, a full backfill and API load at once)', function () {
  this.timeout(600_000);
  let runDir: string;
  let stack: RunningStack | undefined;

  before(async function () {
    this.timeout(300_000);
    runDir = tempDir('retailflow-contention-');
    const storeDir = path.join(runDir, 'models');
    const wh = new DuckDBWarehouse({ path: path.join(runDir, 'warehouse.duckdb') });
    try {
      await loadOrdersFile(wh, realDataFile());
      await registerModel(wh, new FileModelStore(storeDir), fakeModel('rf-contention', 10, { artifact: await smallForest(3, 10) }));
      await promote(wh, 'rf-contention');
    } finally {
      await wh.close();
    }
    stack = await startStack({ runDir, env: { MODEL_STORE_DIR: storeDir } });
  });
  after(async function () {
    this.timeout(60_000);
    await stopStack(stack, runDir);
  });

  it('all complete, no lock error reaches anyone, 305/305 days exact and the stream accounted exactly', async function () {
    const s = stack!;
    const before = await streamStats(s);
    const began = Date.now();
    const stream = startCli(s, ['stream', 'generate', '--rate', String(STREAM.rate), '--count', String(STREAM.rate * STREAM.seconds), '--seed', '15', '--json']);
    const backfill = startCli(s, ['analytics', 'backfill', '--from', YEAR.from, '--to', YEAR.to]);
    const [predict, kpis] = await apiLoad(s, STREAM.seconds);
    const backfillOut = await finished(backfill, 'the backfill', 400_000);
    const backfillSeconds = (Date.now() - began) / 1000;
    const streamOut = await finished(stream, 'the stream generator', 120_000);

    const apiLog = () => fs.readFileSync(path.join(runDir, 'logs', 'api.log'), 'utf8').split('\n').filter((l) => /"level":(4|5)0/.test(l)).slice(-10).join('\n');
    for (const [name, result] of [['/predict', predict], ['/api/v1/kpis', kpis]] as const) {
      const seen = JSON.stringify({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, p99: result.latency.p99, max: result.latency.max });
      assert.equal(result.errors, 0, `${name}: failed requests ${seen}\n${apiLog()}`);
      assert.equal(result.timeouts, 0, `${name}: timeouts`);
      assert.equal(result.non2xx, 0, `${name}: non-2xx answers`);
      assert.ok(result.requests.total > 0, `${name}: no request was made`);
    }
    const days = await assertBackfillExact(s, realDataFile(), YEAR, backfillOut);
    assert.equal(days, 305);
    const after = await streamSettles(s, 180_000);
    assert.equal(after.publishedLogged - before.publishedLogged, STREAM.rate * STREAM.seconds);
    assert.equal(after.accounted - before.accounted, STREAM.rate * STREAM.seconds);
    assert.equal(after.deadLettered - before.deadLettered, 0, 'the generator publishes only valid lines');

    assert.doesNotMatch(backfillOut + streamOut, LOCK_TROUBLE);
    for (const log of fs.readdirSync(path.join(runDir, 'logs'))) {
      const text = fs.readFileSync(path.join(runDir, 'logs', log), 'utf8');
      assert.doesNotMatch(text, LOCK_TROUBLE, `${log} has a lock error`);
    }
    assert.deepEqual(s.status().parts.filter((p) => p.restarts > 0).map((p) => p.name), [], 'no part was restarted');
    if (this.test) {
      this.test.title += ` [backfill ${backfillSeconds.toFixed(1)} s; stream ${after.stored - before.stored} stored; /predict ${predict.requests.total} answers, p99 ${predict.latency.p99} ms; /api/v1/kpis p99 ${kpis.latency.p99} ms, max ${kpis.latency.max} ms]`;
    }
  });
});
