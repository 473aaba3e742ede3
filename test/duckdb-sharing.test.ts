/**
 * DuckDB admits one writing process per file. The adapter opens on demand and closes when idle, so
 * the worker, the CLI, the API and the stream consumer can take turns; a waiting process retries.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';

/** Another process that writes to the file and then keeps it open for `holdMs`. */
function holdInAnotherProcess(file: string, holdMs: number): Promise<() => Promise<number | null>> {
  const script = `
    const { DuckDBWarehouse } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'lib/warehouse/duckdb'))});
    const wh = new DuckDBWarehouse({ path: ${JSON.stringify(file)}, idleCloseMs: ${holdMs} });
    wh.execute('CREATE TABLE IF NOT EXISTS t (x BIGINT)').then(() => wh.execute('INSERT INTO t VALUES (1)'))
      .then(() => { console.log('holding'); setTimeout(() => process.exit(0), ${holdMs + 2000}); });`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: PROJECT_ROOT });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('holding') && resolve(() => exited));
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`holder exited early with ${code}`)));
  });
}

/** Another process that keeps the file busy: one query after another for `busyMs`, never idle. */
function busyInAnotherProcess(file: string, busyMs: number): Promise<() => Promise<string>> {
  const script = `
    const { DuckDBWarehouse } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'lib/warehouse/duckdb'))});
    const wh = new DuckDBWarehouse({ path: ${JSON.stringify(file)}, lockTimeoutMs: 20000 });
    (async () => {
      await wh.execute('CREATE TABLE IF NOT EXISTS t (x BIGINT)');
      await wh.execute('INSERT INTO t VALUES (1)');
      console.log('busy');
      let queries = 0;
      for (const end = Date.now() + ${busyMs}; Date.now() < end; queries++) await wh.query('SELECT COUNT(*) AS n FROM t');
      await wh.close();
      console.log('queries ' + queries);
    })().catch((err) => { console.error(err.message); process.exit(1); });`;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: PROJECT_ROOT });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<string>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`busy process: exit ${code}: ${out}`)))));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', () => out.includes('busy') && resolve(() => exited));
    child.on('error', reject);
  });
}

describe('DuckDB file shared between processes', function () {
  this.timeout(60_000);

  it('a second process waits for the idle close, then reads what the first wrote', async () => {
    const file = path.join(tempDir(), 'shared.duckdb');
    const done = await holdInAnotherProcess(file, 1_500);
    const wh = new DuckDBWarehouse({ path: file, lockTimeoutMs: 20_000 });
    const t0 = Date.now();
    const rows = await wh.query<{ x: number }>('SELECT x FROM t');
    const waited = Date.now() - t0;
    await wh.close();
    assert.deepEqual(rows, [{ x: 1 }]);
    assert.ok(waited >= 500, `expected to wait for the other process's lock, waited ${waited} ms`);
    await done();
  });

  it('a busy holder (never idle) steps aside for a waiting process, and carries on after it', async () => {
    const file = path.join(tempDir(), 'busy-holder.duckdb');
    const done = await busyInAnotherProcess(file, 8_000);
    const wh = new DuckDBWarehouse({ path: file, lockTimeoutMs: 20_000, idleCloseMs: 0 });
    const t0 = Date.now();
    await wh.execute('INSERT INTO t VALUES (2)');
    const waited = Date.now() - t0;
    await wh.close();
    // Before the handoff this waited for the whole 8 s of the holder's work.
    assert.ok(waited < 3_000, `waited ${waited} ms for a holder that never goes idle`);
    const out = await done();
    assert.match(out, /queries [1-9]\d*/, 'the holder went on after letting the waiter in');
  });

  it('gives up after lockTimeoutMs with a message that names the file', async () => {
    const file = path.join(tempDir(), 'busy.duckdb');
    const done = await holdInAnotherProcess(file, 5_000);
    const wh = new DuckDBWarehouse({ path: file, lockTimeoutMs: 300 });
    await assert.rejects(wh.query('SELECT 1'), (err: Error) => {
      assert.match(err.message, new RegExp(`cannot open DuckDB warehouse ${file.replace(/[.]/g, '\\.')}: .*lock`, 'i'));
      return true;
    });
    await wh.close();
    await done();
  });
});
