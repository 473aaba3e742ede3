/** The setup script: pinned tools in place, and a second run is a quick no-op. */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyLocalModeDefaults, ConfigError, isLocalMode, loadConfig, PROJECT_ROOT } from '../lib/config';
import { toolPath } from '../lib/tools';

describe('setup', function () {
  this.timeout(120_000);

  it('installed the pinned Temporal CLI with its dev server', () => {
    const out = execFileSync(toolPath('temporal'), ['--version'], { encoding: 'utf8' });
    assert.match(out, /^temporal version 1\.9\.1 /);
  });

  it('links every tool from the per-user cache, not from the clone', () => {
    for (const name of ['temporal', 'pubsub-emulator', 'bigquery-emulator'] as const) {
      const link = path.join(PROJECT_ROOT, '.tools', 'bin', name);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), `${name} is a link`);
      assert.ok(!fs.realpathSync(link).startsWith(PROJECT_ROOT), `${name} lives outside the clone`);
    }
    assert.match(execFileSync(path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'python'), ['-c', 'import temporalio, pytest; print(temporalio.__version__ if hasattr(temporalio, "__version__") else "ok")'], { encoding: 'utf8' }), /\S/);
  });

  it('a second run changes nothing and takes a few seconds', () => {
    const t0 = Date.now();
    const res = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'setup.sh')], { encoding: 'utf8' });
    const secs = (Date.now() - t0) / 1000;
    assert.equal(res.status, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /installing|building|creating/);
    assert.match(res.stdout, /ready in \d+s/);
    assert.ok(secs < 15, `setup no-op took ${secs}s`);
  });

  it('--check reports a complete installation', () => {
    const res = spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'setup.sh'), '--check', '--quiet'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });
});

describe('configuration', () => {
  it('documents in .env.example every environment variable the code reads', () => {
    const example = fs.readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    const read = new Set<string>();
    for (const dir of ['lib', 'api', 'workers', 'scripts', 'activities', 'tools', 'clients']) {
      for (const file of walk(path.join(PROJECT_ROOT, dir))) {
        const src = fs.readFileSync(file, 'utf8');
        for (const m of src.matchAll(/(?:process\.env\.|process\.env\[['"]|\b(?:str|int|oneOf|decimal|dir|optional|bool)\(['"])([A-Z][A-Z0-9_]+)/g)) read.add(m[1]);
      }
    }
    const internal = new Set(['NODE_ENV', 'RETAILFLOW_TEST_SERVICES', 'PUBSUB_EMULATOR_BIN', 'BIGQUERY_EMULATOR_BIN']);
    const missing = [...read].filter((v) => !documented.has(v) && !internal.has(v));
    assert.deepEqual(missing, []);
  });

  it('passes the dev server WAL pragmas by default, none on request, and names a malformed one', () => {
    assert.deepEqual(loadConfig({}).temporal.sqlitePragmas, ['journal_mode=wal', 'synchronous=normal']);
    assert.deepEqual(loadConfig({ TEMPORAL_SQLITE_PRAGMAS: 'none' }).temporal.sqlitePragmas, []);
    assert.deepEqual(loadConfig({ TEMPORAL_SQLITE_PRAGMAS: 'journal_mode=wal, busy_timeout=5000' }).temporal.sqlitePragmas, ['journal_mode=wal', 'busy_timeout=5000']);
    assert.throws(() => loadConfig({ TEMPORAL_SQLITE_PRAGMAS: 'journal_mode=wal;drop' }), (err: unknown) => err instanceof ConfigError && /TEMPORAL_SQLITE_PRAGMAS .*"journal_mode=wal;drop"/.test(err.message));
  });
});

function* walk(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('local mode', () => {
  it('is on with emulators or the embedded warehouse, off for real GCP, and RETAILFLOW_ENV decides when set', () => {
    assert.equal(isLocalMode({}), true);
    assert.equal(isLocalMode({ WAREHOUSE: 'bigquery' }), false);
    assert.equal(isLocalMode({ WAREHOUSE: 'bigquery', BIGQUERY_EMULATOR_HOST: '127.0.0.1:9050' }), true);
    assert.equal(isLocalMode({ RETAILFLOW_ENV: 'cloud' }), false);
    assert.equal(isLocalMode({ RETAILFLOW_ENV: 'local', WAREHOUSE: 'bigquery' }), true);
  });

  it('applyLocalModeDefaults turns metadata-server detection off only in local mode', () => {
    const local: NodeJS.ProcessEnv = {};
    applyLocalModeDefaults(local);
    assert.equal(local.METADATA_SERVER_DETECTION, 'none');
    const cloud: NodeJS.ProcessEnv = { RETAILFLOW_ENV: 'cloud' };
    applyLocalModeDefaults(cloud);
    assert.equal(cloud.METADATA_SERVER_DETECTION, undefined);
  });
});
