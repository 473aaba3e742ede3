/**
 * `npm start` end to end: the built stack script starts every process on free loopback ports
 * (again on new ones if a port was taken in between), each answers, the status file describes
 * them, and one SIGINT stops them all with nothing left behind.
 * Needs `npm run build` first (the project's test command does it) and the tools from `npm run setup`.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isGroupAlive, isPidAlive, type ChildStatus } from '../../lib/process/supervisor';
import { Client, Connection } from '@temporalio/client';
import { parseEnv } from 'node:util';
import { runCli } from '../support/cli';
import { realDataHead, writeCsv } from '../support/fixtures';
import { get, killStack, sleep, startStack, waitForExit, type RunningStack, type StackPorts } from '../support/stack';

const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 20_000;

describe('local stack (npm start) @integration', function () {
  this.timeout(START_TIMEOUT_MS + 60_000);
  let runDir: string;
  let stack: RunningStack;
  let ports: StackPorts;
  let output = '';
  let children: ChildStatus[] = [];

  before(async function () {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-stack-'));
    stack = await startStack({ runDir, timeoutMs: START_TIMEOUT_MS });
    ports = stack.ports;
    output = stack.output();
    children = stack.status().parts;
  });

  after(() => {
    // Only after a failure is anything still running: kill it so no test leaves processes behind.
    if (stack) killStack({ proc: stack.proc, runDir });
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  });

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

  it('describes every part in run/stack.json: ready, pid, no restarts, endpoints', () => {
    const status = stack.status();
    assert.equal(status.pid, stack.proc.pid);
    assert.equal(status.state, 'up');
    assert.ok(Date.parse(status.startedAt) <= Date.parse(status.updatedAt));
    assert.equal(status.endpoints.api, `http://127.0.0.1:${ports.api}`);
    assert.equal(status.endpoints.temporalGrpc, `127.0.0.1:${ports.grpc}`);
    assert.equal(status.endpoints.logs, path.join(runDir, 'logs'));
    for (const part of status.parts) {
      assert.equal(part.state, 'ready', part.name);
      assert.equal(part.restarts, 0, part.name);
      assert.equal(part.lastExit, null, part.name);
      assert.ok(part.pid !== null && isPidAlive(part.pid), `${part.name} runs`);
    }
    assert.ok(output.includes(`Status            ${path.join(runDir, 'stack.json')}`), output);
  });

  it('runs the Temporal dev server\'s SQLite file in WAL mode (TEMPORAL_SQLITE_PRAGMAS default)', () => {
    // The -wal file exists only while a connection holds the database in WAL mode.
    assert.ok(fs.existsSync(path.join(runDir, 'temporal.db-wal')), 'run/temporal.db-wal is missing: the pragmas did not reach the server');
  });

  it('writes run/stack.env with the endpoints it started', () => {
    const published = parseEnv(fs.readFileSync(path.join(runDir, 'stack.env'), 'utf8'));
    assert.equal(published.TEMPORAL_ADDRESS, `127.0.0.1:${ports.grpc}`);
    assert.equal(published.PUBSUB_EMULATOR_HOST, `127.0.0.1:${ports.pubsub}`);
    assert.equal(published.API_PORT, String(ports.api));
    assert.equal(published.DUCKDB_PATH, path.join(runDir, 'warehouse.duckdb'));
  });

  it('a CLI in a clean shell (only RUN_DIR to find this stack) loads, analyses and streams with no stack trace', async () => {
    // What a new terminal has: PATH and HOME. RUN_DIR only because this stack runs in a temp dir;
    // with the default run/ a newcomer needs nothing at all. Every endpoint comes from stack.env.
    const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RUN_DIR: runDir };
    const file = writeCsv(realDataHead(3_000));
    const steps: string[][] = [
      ['ingest', '--file', file],
      ['analytics', 'run', '--date', '2010-12-01'],
      ['dq', 'run', '--date', '2010-12-01'],
      ['stream', 'generate', '--count', '200', '--seed', '7'],
      ['stream', 'stats'],
    ];
    for (const args of steps) {
      const res = await runCli(args, clean, 120_000, { cleanEnv: true });
      assert.ok(res.code === 0 || (args[0] === 'dq' && res.code === 1), `${args.join(' ')}: exit ${res.code}\n${res.out}\n${res.err}`);
      assert.doesNotMatch(res.err, /^\s+at /m, `${args.join(' ')} printed a stack trace:\n${res.err}`);
    }
  });

  it('keeps the platform Schedules, and yesterday\'s scheduled run completes (no-data, not a failure)', async () => {
    // The Schedules are listed right after the banner, once Temporal has them.
    for (let i = 0; i < 100 && !stack.output().includes('weekly-training'); i++) await sleep(100);
    const listed = stack.output();
    assert.match(listed, /Schedules \(npm start -- --no-schedules to leave them alone\):/);
    for (const id of ['daily-analytics', 'data-quality', 'intraday-refresh', 'weekly-training']) assert.match(listed, new RegExp(`^  ${id} +.+next `, 'm'));
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.grpc}` });
    try {
      const client = new Client({ connection });
      const schedule = client.schedule.getHandle('daily-analytics');
      await schedule.trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 50 && !workflowId; i++) {
        workflowId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
        if (!workflowId) await sleep(200);
      }
      assert.ok(workflowId, 'the triggered run started');
      const result = await client.workflow.getHandle(workflowId).result() as { outcome?: string; reason?: string };
      // Yesterday (shop time) has no orders in this warehouse: an outcome with a reason, not a red run.
      assert.equal(result.outcome, 'no-data', JSON.stringify(result));
      assert.match(result.reason ?? '', /no order lines/);
    } finally {
      await connection.close();
    }
  });

  it('live orders reach today\'s KPIs through the intraday refresh, exactly', async () => {
    const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', RUN_DIR: runDir };
    const gen = await runCli(['stream', 'generate', '--live', '--rate', '500', '--count', '300'], clean, 120_000, { cleanEnv: true });
    assert.equal(gen.code, 0, gen.err);
    // Wait until the consumer has stored all 300 (stored + duplicates + dead-lettered = published).
    let stored = 0;
    for (let i = 0; i < 100 && stored < 300 + 200; i++) {
      const stats = await runCli(['stream', 'stats', '--json'], clean, 30_000, { cleanEnv: true });
      stored = (JSON.parse(stats.out) as { stored: number }).stored;
      if (stored < 500) await sleep(300);
    }
    assert.equal(stored, 500, 'the 200 generated earlier and the 300 live lines are stored');
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.grpc}` });
    try {
      const client = new Client({ connection });
      const before = (await client.schedule.getHandle('intraday-refresh').describe()).info.recentActions.length;
      await client.schedule.getHandle('intraday-refresh').trigger();
      let workflowId: string | undefined;
      for (let i = 0; i < 50 && !workflowId; i++) {
        const actions = (await client.schedule.getHandle('intraday-refresh').describe()).info.recentActions;
        if (actions.length > before) workflowId = actions.at(-1)?.action.workflow.workflowId;
        else await sleep(200);
      }
      assert.ok(workflowId, 'the refresh started');
      const result = await client.workflow.getHandle(workflowId).result() as { date: string; kpis: { stream_lines: number; batch_lines: number; total_lines: number } };
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
      assert.equal(result.date, today);
      assert.equal(result.kpis.stream_lines, 300, JSON.stringify(result.kpis));
      assert.equal(result.kpis.batch_lines, 0);
      assert.equal(result.kpis.total_lines, 300);
      // The CLI shows the same day from the warehouse.
      const cli = await runCli(['analytics', 'run', '--date', 'today'], clean, 60_000, { cleanEnv: true });
      assert.equal(cli.code, 0, cli.err);
      assert.match(cli.out, /stream \d+ \/ 300\b/);
    } finally {
      await connection.close();
    }
  });

  it('stops everything on SIGINT with exit code 0 and no processes left', async () => {
    const began = Date.now();
    stack.proc.kill('SIGINT');
    const code = await waitForExit(stack.proc, STOP_TIMEOUT_MS);
    assert.equal(code, 0, `exit ${String(code)} after ${Date.now() - began} ms:\n${stack.output()}`);
    for (const child of children) {
      const pid = child.pid as number;
      assert.equal(isPidAlive(pid), false, `${child.name} (pid ${pid}) is still alive`);
      assert.equal(isGroupAlive(pid), false, `${child.name}'s process group ${pid} still has members`);
    }
    assert.equal(fs.existsSync(path.join(runDir, 'stack.json')), false, 'stack.json is removed on a clean stop');
    assert.equal(fs.existsSync(path.join(runDir, 'stack.env')), false, 'stack.env is removed on a clean stop');
  });
});
