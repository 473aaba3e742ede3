/**
 * The stack heals itself (issue 12, point 4): with real processes, `kill -9` of the worker, the
 * consumer, the API, the Pub/Sub emulator and the Temporal server, one at a time, and the stack
 * brings each back (run/stack.json: restarts counted, state ready) and it serves again.
 *
 * - the worker is killed while a backfill runs: the backfill still completes every day once
 *   (activities that were running on the dead worker are retried after their timeout);
 * - the consumer is killed while a stream is published: every published message ends stored,
 *   duplicate or dead-lettered, exactly once (unacked messages are redelivered and deduplicated);
 * - the Pub/Sub emulator keeps its topics, subscriptions and unacked messages in its journal, so
 *   nobody restarts with it: the worker and the consumer reconnect, and a new stream is stored
 *   (test/faults/pubsub-restart.test.ts kills it in the middle of a stream);
 * - the Temporal server keeps its state in SQLite: the worker, the API and the consumer are NOT
 *   restarted with it; they reconnect on their own, and a workflow runs end to end afterwards.
 *
 * Needs `npm run build` and the tools from `npm run setup`; uses the real data's first lines.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import type { ChildStatus } from '../../lib/process/status';
import { isPidAlive } from '../../lib/process/supervisor';
import { CLI } from '../support/cli';
import { assertBackfillExact, eventually, stackCli, startStackWithSample, streamSettles as settles, streamStats as readStreamStats } from '../support/stack-checks';
import { get, sleep, stopStack, waitForExit, type RunningStack } from '../support/stack';

/** The first 40,000 real lines: 2010-12-01 .. 2010-12-17, 14 days with orders, the last one cut. */
const SAMPLE_LINES = 40_000;
const BACKFILL = { from: '2010-12-01', to: '2010-12-31' };

describe('local stack heals itself after kill -9 @integration', function () {
  this.timeout(120_000);
  let runDir: string;
  let stack: RunningStack;
  let sample: string;

  before(async function () {
    this.timeout(240_000);
    ({ runDir, stack, sample } = await startStackWithSample('retailflow-heal-', SAMPLE_LINES));
  });

  after(async function () {
    this.timeout(60_000);
    await stopStack(stack, runDir);
  });

  const cli = (args: string[], timeoutMs?: number) => stackCli(stack, args, timeoutMs);
  const streamStats = () => readStreamStats(stack);
  const streamSettles = () => settles(stack);

  function restarts(): Record<string, number> {
    return Object.fromEntries(stack.status().parts.map((part) => [part.name, part.restarts]));
  }

  /** SIGKILL the part's current process; resolves with its pid. */
  function kill9(name: string): number {
    const pid = stack.part(name).pid;
    assert.ok(pid !== null && isPidAlive(pid), `${name} runs before the kill`);
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  async function readyAgain(name: string, restartCount: number, timeoutMs = 90_000): Promise<ChildStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const part = stack.part(name);
      if (part.state === 'ready' && part.restarts >= restartCount) return part;
      if (part.state === 'crashed') assert.fail(`${name} crashed:\n${stack.output().slice(-4_000)}`);
      if (Date.now() > deadline) assert.fail(`${name} not ready with ${restartCount} restarts within ${timeoutMs / 1000} s: ${JSON.stringify(part)}\n${stack.output().slice(-4_000)}`);
      await sleep(200);
    }
  }

  const healthy = (url: string, check: (body: Record<string, unknown>) => boolean = () => true) => async () => {
    const answer = await get(url);
    return answer.status === 200 && check(JSON.parse(answer.body) as Record<string, unknown>) ? true : undefined;
  };
  const workerHealthy = () => healthy(`http://127.0.0.1:${stack.ports.health}/health`, (body) => body.workerState === 'RUNNING')();
  const consumerHealthy = () => healthy(`http://127.0.0.1:${stack.ports.streamHealth}/health`)();
  const apiHealthy = () =>
    healthy(`http://127.0.0.1:${stack.ports.api}/health`, (body) => body.status === 'healthy')();

  it('restarts the worker killed during a backfill, and the backfill completes every day once', async function () {
    this.timeout(300_000);
    const backfill = spawn(process.execPath, [CLI, 'analytics', 'backfill', '--from', BACKFILL.from, '--to', BACKFILL.to], { cwd: PROJECT_ROOT, env: stack.env });
    let out = '';
    backfill.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    backfill.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await sleep(1_500); // the backfill has started its days
    assert.equal(backfill.exitCode, null, `the backfill ended before the kill:\n${out}`);
    const began = Date.now();
    const killed = kill9('worker');
    const part = await readyAgain('worker', 1);
    console.log(`      worker back in ${((Date.now() - began) / 1000).toFixed(1)} s (pid ${killed} -> ${part.pid})`);
    assert.equal(part.lastExit?.signal, 'SIGKILL');
    assert.equal(part.lastRestartReason, 'exited on signal SIGKILL');
    assert.ok(await eventually('worker health', workerHealthy));
    assert.match(stack.output(), /\[stack\] worker \(pid \d+\) exited unexpectedly on signal SIGKILL/);
    assert.match(stack.output(), /\[stack\] worker exited on signal SIGKILL: restart 1 in 1\.0 s/);
    assert.match(fs.readFileSync(path.join(runDir, 'logs', 'stack.log'), 'utf8'), /worker is back: restart 1 ready in/);
    const code = await waitForExit(backfill, 280_000 - (Date.now() - began));
    assert.equal(code, 0, out);
    await assertBackfillExact(stack, sample, BACKFILL, out);
    console.log(`      backfill done ${((Date.now() - began) / 1000).toFixed(1)} s after the kill`);
    assert.deepEqual(restarts(), { temporal: 0, 'pubsub-emulator': 0, worker: 1, api: 0, consumer: 0 });
  });

  it('restarts the consumer killed during a stream, and every published line is accounted for exactly once', async () => {
    const before = await streamStats();
    const publisher = spawn(process.execPath, [CLI, 'stream', 'generate', '--rate', '500', '--count', '3000', '--seed', '7', '--json'], { cwd: PROJECT_ROOT, env: stack.env });
    let out = '';
    publisher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    publisher.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await sleep(2_500);
    kill9('consumer');
    await readyAgain('consumer', 1);
    assert.ok(await eventually('consumer health', consumerHealthy));
    assert.equal(await waitForExit(publisher, 60_000), 0, out);
    const after = await streamSettles();
    assert.equal(after.publishedLogged - before.publishedLogged, 3000);
    assert.equal(after.accounted - before.accounted, 3000);
    console.log(`      stream: ${after.stored - before.stored} stored, ${after.duplicates - before.duplicates} duplicates, ${after.deadLettered - before.deadLettered} dead-lettered`);
    assert.deepEqual(restarts(), { temporal: 0, 'pubsub-emulator': 0, worker: 1, api: 0, consumer: 1 });
  });

  it('restarts the API, which serves again', async () => {
    kill9('api');
    await readyAgain('api', 1);
    assert.ok(await eventually('API health', apiHealthy));
    assert.deepEqual(restarts(), { temporal: 0, 'pubsub-emulator': 0, worker: 1, api: 1, consumer: 1 });
  });

  it('restarts the Pub/Sub emulator alone (its journal keeps the topics), and a new stream is stored', async () => {
    const pidsBefore = { worker: stack.part('worker').pid, consumer: stack.part('consumer').pid };
    kill9('pubsub-emulator');
    await readyAgain('pubsub-emulator', 1);
    assert.ok(await eventually('consumer health', consumerHealthy));
    assert.ok(await eventually('worker health', workerHealthy));
    const before = await streamStats();
    await cli(['stream', 'generate', '--count', '500', '--seed', '8', '--json']);
    const after = await streamSettles();
    assert.equal(after.accounted - before.accounted, 500);
    assert.deepEqual(restarts(), { temporal: 0, 'pubsub-emulator': 1, worker: 1, api: 1, consumer: 1 });
    assert.deepEqual({ worker: stack.part('worker').pid, consumer: stack.part('consumer').pid }, pidsBefore, 'the worker and the consumer kept their processes');
  });

  it('restarts the Temporal server; the worker, the API and the consumer reconnect without a restart of their own', async () => {
    const pidsBefore = Object.fromEntries(stack.status().parts.map((part) => [part.name, part.pid]));
    const logSize = (name: string): number => fs.statSync(path.join(runDir, 'logs', `${name}.log`)).size;
    const logFrom = Object.fromEntries(['worker', 'api', 'consumer'].map((name) => [name, logSize(name)]));
    const began = Date.now();
    kill9('temporal');
    await readyAgain('temporal', 1);
    const back = (Date.now() - began) / 1000;
    await eventually('API health with Temporal', apiHealthy);
    const apiAt = (Date.now() - began) / 1000;
    assert.ok(await eventually('worker health', workerHealthy));
    // A workflow end to end: the worker polls the new server process (state from SQLite).
    const out = await cli(['analytics', 'run', '--date', '2010-12-02']);
    assert.match(out, /KPIs for 2010-12-02/);
    const workflowAt = (Date.now() - began) / 1000;
    console.log(`      temporal back in ${back.toFixed(1)} s; API healthy after ${apiAt.toFixed(1)} s; a workflow completed after ${workflowAt.toFixed(1)} s`);
    assert.deepEqual(restarts(), { temporal: 1, 'pubsub-emulator': 1, worker: 1, api: 1, consumer: 1 });
    for (const name of ['worker', 'api', 'consumer']) assert.equal(stack.part(name).pid, pidsBefore[name], `${name} kept its process`);
    assert.ok(await eventually('consumer health', consumerHealthy));
    // What the clients said about the outage (for the record; reconnecting is the SDKs' job).
    for (const name of ['worker', 'api', 'consumer']) {
      const fd = fs.openSync(path.join(runDir, 'logs', `${name}.log`), 'r');
      const buffer = Buffer.alloc(logSize(name) - logFrom[name]);
      fs.readSync(fd, buffer, 0, buffer.length, logFrom[name]);
      fs.closeSync(fd);
      const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim() !== '');
      console.log(`      ${name} logged ${lines.length} line(s) during the outage${lines.length ? `, first: ${lines[0].slice(0, 240)}` : ''}`);
    }
  });

  it('still stops everything on SIGINT with exit code 0', async function () {
    this.timeout(90_000);
    const parts = stack.status().parts;
    stack.proc.kill('SIGINT');
    assert.equal(await waitForExit(stack.proc, 80_000), 0, stack.output().slice(-4_000));
    for (const part of parts) assert.equal(isPidAlive(part.pid as number), false, `${part.name} is still alive`);
    assert.equal(fs.existsSync(path.join(runDir, 'stack.json')), false);
  });
});
