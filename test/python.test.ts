/**
 * The Python side (Airflow DAGs, their end-to-end runs against the real worker, the compose file)
 * is tested with pytest in tests_py/; this runs that suite as part of `npm test`. pytest's conftest
 * starts its own Temporal dev server, Pub/Sub emulator and worker on free loopback ports.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';

/** Keep in step with tests_py/: 9 DAG integrity + 3 plumbing + 6 daily_analytics, 2 data_quality and 1 ml_training end to end + 14 compose + 3 Temporal TLS/API key settings. */
const EXPECTED_PASSED = 38;

function runPytest(): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  // The mocha hooks point these at their own servers; the pytest session starts its own.
  for (const key of Object.keys(env)) {
    if (/^(TEMPORAL_|PUBSUB_|BIGQUERY_|AIRFLOW)/.test(key) || key === 'DUCKDB_PATH' || key === 'DATA_DIR') delete env[key];
  }
  const python = path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'python');
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'pytest', 'tests_py', '-q', '-p', 'no:cacheprovider'], { cwd: PROJECT_ROOT, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('Python: Airflow DAGs and the compose file (pytest tests_py) @integration', function () {
  this.timeout(600_000);

  it('passes every pytest test', async () => {
    const { code, output } = await runPytest();
    const summary = output.trim().split('\n').pop() ?? '';
    assert.equal(code, 0, `pytest exited ${code}:\n${output.slice(-6000)}`);
    const count = (what: string) => Number(new RegExp(`(\\d+) ${what}`).exec(summary)?.[1] ?? 0);
    assert.equal(count('passed'), EXPECTED_PASSED, `expected ${EXPECTED_PASSED} passed, summary: ${summary}`);
    assert.equal(count('skipped'), 0, summary);
    assert.doesNotMatch(summary, /failed|error/, summary);
  });
});
