/**
 * Fault: a model hot swap under load (issue 15, fault suite). The real API process
 * (api/server.ts) serves /predict to 50 connections while, from another process (this one), a new
 * model is promoted and then rolled back in the shared DuckDB file. Must hold: zero failed
 * requests and zero non-2xx answers, every answer names the version that served it, and the
 * versions seen go old -> new -> old.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { promote, registerModel, rollback } from '../../lib/model/registry';
import { FileModelStore } from '../../lib/model/store';
import { freePorts } from '../../lib/process/ports';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { services } from '../hooks';
import { tempDir } from '../support/fixtures';
import { fakeModel, smallForest } from '../support/model-fixtures';

const ROOT = path.resolve(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BODY = JSON.stringify({ Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 });

async function waitFor(what: string, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('@integration fault: model hot swap under load', function () {
  this.timeout(120_000);
  const dir = tempDir('retailflow-hotswap-');
  const dbPath = path.join(dir, 'warehouse.duckdb');
  const storeDir = path.join(dir, 'models');
  let api: ChildProcess | undefined;
  let output = '';
  after(() => api?.kill('SIGKILL'));

  it('50 connections on /predict while a model is promoted and rolled back: no failure, every answer names its version, old -> new -> old', async function () {
    const wh = new DuckDBWarehouse({ path: dbPath, lockTimeoutMs: 30_000 });
    const store = new FileModelStore(storeDir);
    await registerModel(wh, store, fakeModel('rf-old', 10, { artifact: await smallForest(1, 10) }));
    await registerModel(wh, store, fakeModel('rf-new', 9, { artifact: await smallForest(2, 20) }));
    await promote(wh, 'rf-old');
    await wh.close(); // the API process opens the file next

    const [port] = await freePorts(1);
    api = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'api', 'server.ts')], {
      cwd: ROOT,
      env: {
        ...process.env, RETAILFLOW_STACK_ENV: 'none', WAREHOUSE: 'duckdb', DUCKDB_PATH: dbPath, MODEL_STORE_DIR: storeDir,
        MODEL_RELOAD_INTERVAL_MS: '1000', API_PORT: String(port), TEMPORAL_ADDRESS: services().temporal.address, LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    api.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the API to serve rf-old', async () => (await (await fetch(`${url}/models/current`)).json() as { version?: string }).version === 'rf-old', 60_000);

    const seen: Array<{ at: number; version: string | undefined }> = [];
    const started = Date.now();
    const load = autocannon({
      url: `${url}/predict`, connections: 50, duration: 14,
      requests: [{
        method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY,
        onResponse: (_status: number, body: string) => {
          seen.push({ at: Date.now() - started, version: (JSON.parse(body) as { model_version?: string }).model_version });
        },
      }],
    });
    // Each change from a short-lived connection, as the CLI makes it: the API process shares the file.
    const withWriter = async (change: (w: DuckDBWarehouse) => Promise<unknown>) => {
      const writer = new DuckDBWarehouse({ path: dbPath, lockTimeoutMs: 30_000 });
      try {
        await change(writer);
      } finally {
        await writer.close();
      }
    };
    const swaps = (async () => {
      await sleep(3_000);
      await withWriter((w) => promote(w, 'rf-new', 'fault test: hot swap'));
      await sleep(5_000);
      await withWriter((w) => rollback(w));
    })();
    const [result] = await Promise.all([load, swaps]);

    assert.equal(result.errors, 0, `failed requests:\n${output.slice(-2_000)}`);
    assert.equal(result.timeouts, 0);
    assert.equal(result.non2xx, 0, output.slice(-2_000));
    assert.ok(seen.length > 1_000, `only ${seen.length} answers`);
    assert.equal(seen.filter((s) => s.version !== 'rf-old' && s.version !== 'rf-new').length, 0, 'an answer without a version');
    // Collapse runs of one version: the order the versions served in.
    const runs = seen.map((s) => s.version).filter((v, i, all) => i === 0 || v !== all[i - 1]);
    assert.deepEqual(runs, ['rf-old', 'rf-new', 'rf-old'], 'each swap takes effect once, in order, with no flapping');
    if (this.test) this.test.title += ` [${seen.length} answers, ${Math.round(result.requests.average)} req/s]`;
  });
});
