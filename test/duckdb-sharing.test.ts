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
