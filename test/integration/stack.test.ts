/**
 * `npm start` end to end: the built stack script starts every process on free loopback ports,
 * each answers, and one SIGINT stops them all with nothing left behind.
 * Needs `npm run build` first (the project's test command does it) and the tools from `npm run setup`.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { freePort, isGroupAlive, isPidAlive, signalGroup, type ChildInfo } from '../../lib/process/supervisor';

const STACK_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'scripts', 'stack.js');
const READY_LINE = 'retailflow is up';
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 20_000;

interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

function get(url: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body }));
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.once('error', reject);
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null | 'timeout'> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('local stack (npm start) @integration', function () {
  this.timeout(START_TIMEOUT_MS + 60_000);
  const ports = { grpc: 0, ui: 0, pubsub: 0, api: 0, metrics: 0, health: 0, streamHealth: 0, streamMetrics: 0 };
  let runDir: string;
  let stack: ChildProcess;
  let output = '';
  let children: ChildInfo[] = [];

  before(async function () {
    if (!fs.existsSync(STACK_SCRIPT)) throw new Error(`${STACK_SCRIPT} is missing: run "npm run build" before this test`);
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-stack-'));
    for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
    stack = spawn(process.execPath, [STACK_SCRIPT], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        RUN_DIR: runDir,
        WAREHOUSE: 'duckdb',
        DUCKDB_PATH: path.join(runDir, 'warehouse.duckdb'),
        TEMPORAL_ADDRESS: `127.0.0.1:${ports.grpc}`,
        TEMPORAL_UI_PORT: String(ports.ui),
        PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`,
        API_PORT: String(ports.api),
        WORKER_METRICS_PORT: String(ports.metrics),
        WORKER_HEALTH_PORT: String(ports.health),
        STREAM_HEALTH_PORT: String(ports.streamHealth),
        STREAM_METRICS_PORT: String(ports.streamMetrics),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stack.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForBanner();
    children = (JSON.parse(fs.readFileSync(path.join(runDir, 'stack.json'), 'utf8')) as { children: ChildInfo[] }).children;
  });

  after(() => {
    // Only after a failure is anything still running: kill it so no test leaves processes behind.
    for (const child of children) signalGroup(child.pid, 'SIGKILL');
    if (stack?.exitCode === null) stack.kill('SIGKILL');
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  });

  async function waitForBanner(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!output.includes(READY_LINE)) {
      if (stack.exitCode !== null) assert.fail(`the stack exited with code ${stack.exitCode} before it was up:\n${output}`);
      if (Date.now() > deadline) assert.fail(`no "${READY_LINE}" within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('prints a banner with the URLs', () => {
    assert.match(output, new RegExp(`Temporal Web UI +http://127\\.0\\.0\\.1:${ports.ui}\n`));
    assert.match(output, new RegExp(`API docs +http://127\\.0\\.0\\.1:${ports.api}/docs\n`));
    assert.match(output, new RegExp(`Worker metrics +http://127\\.0\\.0\\.1:${ports.metrics}/metrics\n`));
  });

  it('serves the Temporal Web UI', async () => {
    const answer = await get(`http://127.0.0.1:${ports.ui}/`);
    assert.equal(answer.status, 200);
    assert.match(answer.contentType, /text\/html/);
    assert.match(answer.body, /<html/i);
  });

  it('has a healthy API', async () => {
    const answer = await get(`http://127.0.0.1:${ports.api}/health`);
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as { status: string; checks: { temporal: { ok: boolean }; warehouse: { ok: boolean } } };
    assert.equal(body.status, 'healthy', answer.body);
  });

  it('has a healthy stream consumer', async () => {
    const answer = await get(`http://127.0.0.1:${ports.streamHealth}/health`);
    assert.equal(answer.status, 200, answer.body);
    assert.match(output, new RegExp(`Stream consumer +http://127\\.0\\.0\\.1:${ports.streamHealth}/health +\\(metrics: http://127\\.0\\.0\\.1:${ports.streamMetrics}/metrics\\)\n`));
  });

  it('has a running worker', async () => {
    const answer = await get(`http://127.0.0.1:${ports.health}/health`);
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { workerState: string }).workerState, 'RUNNING');
  });

  it('exports Temporal worker metrics', async () => {
    const answer = await get(`http://127.0.0.1:${ports.metrics}/metrics`);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^temporal_\w+/m);
  });

  it('writes a log file per process', () => {
    assert.deepEqual(children.map((child) => child.name), ['temporal', 'pubsub-emulator', 'worker', 'api', 'consumer']);
    for (const child of children) {
      assert.equal(child.logPath, path.join(runDir, 'logs', `${child.name}.log`));
      assert.ok(fs.statSync(child.logPath).size > 0, `${child.logPath} is empty`);
    }
  });

  it('stops everything on SIGINT with exit code 0 and no processes left', async () => {
    const began = Date.now();
    stack.kill('SIGINT');
    const code = await waitForExit(stack, STOP_TIMEOUT_MS);
    assert.equal(code, 0, `exit ${String(code)} after ${Date.now() - began} ms:\n${output}`);
    for (const child of children) {
      assert.equal(isPidAlive(child.pid), false, `${child.name} (pid ${child.pid}) is still alive`);
      assert.equal(isGroupAlive(child.pid), false, `${child.name}'s process group ${child.pid} still has members`);
    }
    assert.equal(fs.existsSync(path.join(runDir, 'stack.json')), false, 'stack.json is removed on a clean stop');
  });
});
