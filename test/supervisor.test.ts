import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChildStartError,
  freePort,
  freePorts,
  isPidAlive,
  isPortFree,
  logFiles,
  MAX_CHUNK_BYTES,
  restartDelay,
  Supervisor,
  withFreePorts,
  type ChildSpec,
  type ChildStatus,
  type ExitReport,
} from '../lib/process/supervisor';
import { readStackStatus, writeStackStatus, type StackStatus } from '../lib/process/status';

/** A child spec running a snippet of JavaScript in a fresh node. */
function nodeChild(name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { name, command: process.execPath, args: ['-e', script], ...extra };
}

const STAY_ALIVE = 'setInterval(() => {}, 1000);';
const UP = { readiness: [{ type: 'logLine' as const, pattern: /^up$/m }] };

async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('process supervisor', function () {
  this.timeout(30_000);
  let logDir: string;
  let supervisor: Supervisor;
  let reports: string[];
  /** Every onChange snapshot, with when it came. */
  let changes: Array<{ at: number; status: ChildStatus[] }>;

  beforeEach(() => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    reports = [];
    changes = [];
    supervisor = new Supervisor({
      logDir,
      stopGraceMs: 2_000,
      report: (message) => reports.push(message),
      onChange: (status) => changes.push({ at: Date.now(), status }),
    });
  });

  const statusOf = (name: string): ChildStatus | undefined => supervisor.status().find((child) => child.name === name);

  afterEach(async () => {
    await supervisor.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('waits for a readiness log line and appends output to <logDir>/<name>.log', async () => {
    const child = await supervisor.start(
      nodeChild('greeter', `setTimeout(() => console.log('server ready on 1234'), 300); ${STAY_ALIVE}`, {
        readiness: [{ type: 'logLine', pattern: /ready on \d+/ }],
      }),
    );
    assert.equal(child.logPath, path.join(logDir, 'greeter.log'));
    assert.match(fs.readFileSync(child.logPath, 'utf8'), /server ready on 1234/);
    assert.ok(isPidAlive(child.pid));
  });

  it('ignores a matching line left in the log by an earlier run', async () => {
    fs.writeFileSync(path.join(logDir, 'old.log'), 'server ready on 1\n');
    await assert.rejects(
      supervisor.start(nodeChild('old', STAY_ALIVE, { readiness: [{ type: 'logLine', pattern: /ready/ }], readyTimeoutMs: 600 })),
      ChildStartError,
    );
  });

  it('waits for TCP and HTTP probes', async () => {
    const port = await freePort();
    const server = `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1');`;
    const child = await supervisor.start(
      nodeChild('web', server, {
        readiness: [
          { type: 'tcp', host: '127.0.0.1', port },
          { type: 'http', url: `http://127.0.0.1:${port}/` },
        ],
      }),
    );
    assert.ok(isPidAlive(child.pid));
  });

  it('on a readiness timeout names the missing probe, shows the log tail and stops the child', async () => {
    const error = await startError(
      nodeChild('stuck', `console.error('diagnostic: cannot bind port'); ${STAY_ALIVE}`, {
        readiness: [{ type: 'logLine', pattern: /never printed/ }],
        readyTimeoutMs: 800,
      }),
    );
    assert.match(error.message, /stuck was not ready within 0.8 s/);
    assert.match(error.message, /waiting for: log line matching \/never printed\//);
    assert.match(error.message, /diagnostic: cannot bind port/);
    assert.ok(error.message.includes(path.join(logDir, 'stuck.log')));
    assert.deepEqual(error.logTail, ['diagnostic: cannot bind port']);
    assert.equal(isPidAlive(error.child.pid), false);
  });

  it('rejects start when the child exits before it is ready', async () => {
    const error = await startError(
      nodeChild('quitter', `console.error('fatal: bad config'); process.exit(7);`, {
        readiness: [{ type: 'logLine', pattern: /ready/ }],
      }),
    );
    assert.match(error.message, /quitter exited with code 7 before it was ready/);
    assert.match(error.message, /fatal: bad config/);
    assert.deepEqual(supervisor.children, []);
  });

  it('reports a child that dies after it was ready and stops the others', async () => {
    const steady = await supervisor.start(nodeChild('steady', `console.log('up'); ${STAY_ALIVE}`, { readiness: [{ type: 'logLine', pattern: /up/ }] }));
    await supervisor.start(
      nodeChild('flaky', `console.log('up'); setTimeout(() => { console.error('lost connection'); process.exit(3); }, 300);`, {
        readiness: [{ type: 'logLine', pattern: /up/ }],
      }),
    );
    const report: ExitReport = await supervisor.crashed;
    assert.equal(report.name, 'flaky');
    assert.equal(report.code, 3);
    assert.equal(report.logPath, path.join(logDir, 'flaky.log'));
    assert.deepEqual(report.logTail.slice(-1), ['lost connection']);
    assert.equal(reports.length, 1);
    assert.match(reports[0], /flaky \(pid \d+\) exited unexpectedly with code 3; stopping the rest/);
    assert.match(reports[0], /lost connection/);
    assert.equal(isPidAlive(steady.pid), false);
  });

  it('stops children in reverse start order', async () => {
    const order = path.join(logDir, 'order.txt');
    for (const name of ['first', 'second', 'third']) {
      const onTerm = `process.on('SIGTERM', () => { require('node:fs').appendFileSync(${JSON.stringify(order)}, '${name}\\n'); process.exit(0); });`;
      await supervisor.start(nodeChild(name, `${onTerm} console.log('up'); ${STAY_ALIVE}`, { readiness: [{ type: 'logLine', pattern: /up/ }] }));
    }
    await supervisor.stop();
    assert.deepEqual(fs.readFileSync(order, 'utf8').trim().split('\n'), ['third', 'second', 'first']);
  });

  it('stop reaches grandchildren and SIGKILLs those that ignore SIGTERM', async () => {
    const grandchild = `process.on('SIGTERM', () => {}); console.log('grandchild pid', process.pid); ${STAY_ALIVE}`;
    const parent = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); ${STAY_ALIVE}`;
    const child = await supervisor.start(
      nodeChild('parent', parent, { readiness: [{ type: 'logLine', pattern: /grandchild pid \d+/ }], stopGraceMs: 500 }),
    );
    const grandchildPid = Number(/grandchild pid (\d+)/.exec(fs.readFileSync(child.logPath, 'utf8'))?.[1]);
    assert.ok(isPidAlive(grandchildPid));
    await supervisor.stop();
    assert.equal(isPidAlive(child.pid), false);
    assert.equal(isPidAlive(grandchildPid), false);
  });

  it('rejects start when the command cannot be spawned', async () => {
    await assert.rejects(supervisor.start({ name: 'ghost', command: path.join(logDir, 'no-such-binary') }), /ghost: .*failed to spawn/);
    assert.deepEqual(supervisor.children, []);
  });

  it('refuses to start after stop', async () => {
    await supervisor.stop();
    await assert.rejects(supervisor.start(nodeChild('late', STAY_ALIVE)), /supervisor is stopping/);
  });

  describe('restart policy', () => {
    it('restarts a child killed after it was ready; its status shows the restart and the exit', async () => {
      const first = await supervisor.start(nodeChild('phoenix', `console.log('up'); ${STAY_ALIVE}`, { ...UP, restart: { initialMs: 100 } }));
      assert.deepEqual(
        { ...statusOf('phoenix'), since: undefined },
        { name: 'phoenix', pid: first.pid, state: 'ready', restarts: 0, lastExit: null, lastRestartReason: null, since: undefined, logPath: first.logPath },
      );
      process.kill(first.pid, 'SIGKILL');
      const back = await eventually('phoenix ready again', () => {
        const status = statusOf('phoenix');
        return status?.state === 'ready' && status.restarts === 1 ? status : undefined;
      });
      assert.notEqual(back.pid, first.pid);
      assert.ok(back.pid !== null && isPidAlive(back.pid));
      assert.equal(back.lastExit?.signal, 'SIGKILL');
      assert.equal(back.lastRestartReason, 'exited on signal SIGKILL');
      assert.ok(changes.some((change) => change.status[0].state === 'restarting'), 'went through restarting');
      assert.ok(reports.some((line) => /phoenix exited on signal SIGKILL: restart 1 in 0\.1 s/.test(line)), reports.join('\n'));
      assert.ok(reports.some((line) => /phoenix is back: restart 1 ready in/.test(line)), reports.join('\n'));
      const log = fs.readFileSync(first.logPath, 'utf8');
      assert.match(log, /===== \S+ starting phoenix/);
      assert.match(log, /===== \S+ restarting phoenix \(restart 1: exited on signal SIGKILL\)/);
      assert.deepEqual(supervisor.children.map((child) => child.pid), [back.pid]);
    });

    it('backs off 1x, 2x, 4x up to maxMs, and after maxExits exits within the window (a crash loop) leaves it crashed while the others run', async () => {
      const steady = await supervisor.start(nodeChild('steady', `console.log('up'); ${STAY_ALIVE}`, UP));
      const began = Date.now();
      await supervisor.start(
        nodeChild('looper', `console.log('up'); setTimeout(() => process.exit(3), 400);`, {
          ...UP,
          restart: { initialMs: 100, maxMs: 300, maxExits: 5, windowMs: 30_000 },
        }),
      );
      const crashed = await eventually('looper crashed', () => (statusOf('looper')?.state === 'crashed' ? statusOf('looper') : undefined), 20_000);
      const delays = reports.flatMap((line) => /^looper exited with code 3: restart \d+ in ([\d.]+) s$/.exec(line)?.[1] ?? []).map(Number);
      assert.deepEqual(delays, [0.1, 0.2, 0.3, 0.3]);
      assert.equal(crashed.restarts, 4);
      assert.equal(crashed.pid, null);
      assert.equal(crashed.lastExit?.code, 3);
      assert.ok(reports.some((line) => /looper exited 5 times within 30 s \(a crash loop\): not restarting it again/.test(line)), reports.join('\n'));
      // The backoff was real: between each exit and the next process at least the announced delay passed.
      const spawns = changes.filter((c, i) => c.status[1]?.state === 'restarting' && c.status[1].pid !== null && changes[i - 1]?.status[1]?.pid === null);
      assert.equal(spawns.length, 4);
      const exitsAt = changes.filter((c) => c.status[1]?.state === 'restarting' && c.status[1].pid === null).map((c) => c.at);
      spawns.forEach((spawnChange, i) => assert.ok(spawnChange.at - exitsAt[i] >= delays[i] * 1000 - 5, `restart ${i + 1} came too early`));
      assert.ok(isPidAlive(steady.pid), 'the other child keeps running');
      assert.equal(statusOf('steady')?.state, 'ready');
      const outcome = await Promise.race([supervisor.crashed.then(() => 'crashed'), new Promise((resolve) => setTimeout(resolve, 50, 'running'))]);
      assert.equal(outcome, 'running', 'a crash loop with a policy does not stop the supervisor');
      assert.ok(Date.now() - began < 15_000);
    });

    it('uses the first delay again once earlier exits left the window', async () => {
      await supervisor.start(
        nodeChild('mayfly', `console.log('up'); setTimeout(() => process.exit(1), 500);`, {
          ...UP,
          restart: { initialMs: 100, maxMs: 10_000, maxExits: 2, windowMs: 300 },
        }),
      );
      await eventually('three restarts', () => ((statusOf('mayfly')?.restarts ?? 0) >= 3 ? true : undefined), 15_000);
      const delays = reports.flatMap((line) => /^mayfly exited with code 1: restart \d+ in ([\d.]+) s$/.exec(line)?.[1] ?? []);
      assert.deepEqual(delays.slice(0, 3), ['0.1', '0.1', '0.1']);
      assert.notEqual(statusOf('mayfly')?.state, 'crashed');
    });

    it('counts a restart that fails its probes as an exit', async () => {
      const marker = path.join(logDir, 'ran-once');
      const script = `const fs = require('node:fs'); if (fs.existsSync(${JSON.stringify(marker)})) { console.error('config gone'); process.exit(4); }
        fs.writeFileSync(${JSON.stringify(marker)}, ''); console.log('up'); setTimeout(() => process.exit(2), 400);`;
      await supervisor.start(nodeChild('brittle', script, { ...UP, restart: { initialMs: 50, maxMs: 1_000, maxExits: 3, windowMs: 30_000 } }));
      const crashed = await eventually('brittle crashed', () => (statusOf('brittle')?.state === 'crashed' ? statusOf('brittle') : undefined));
      assert.equal(crashed.restarts, 2);
      assert.deepEqual({ ...crashed.lastExit, at: undefined }, { code: 4, signal: null, at: undefined, reason: 'exited with code 4 before it was ready' });
      assert.ok(reports.some((line) => /brittle: restart 1 failed: brittle exited with code 4 before it was ready/.test(line) && /config gone/.test(line)), reports.join('\n'));
      const delays = reports.flatMap((line) => /^brittle (.*): restart \d+ in ([\d.]+) s$/.exec(line)?.slice(1) ?? []);
      assert.deepEqual(delays, ['exited with code 2', '0.1', 'exited with code 4 before it was ready', '0.1']);
    });

    it('restarts the children that name it in restartWith once it is back', async () => {
      const store = await supervisor.start(nodeChild('store', `console.log('up'); ${STAY_ALIVE}`, { ...UP, restart: { initialMs: 50 } }));
      const client = await supervisor.start(nodeChild('client', `console.log('up'); ${STAY_ALIVE}`, { ...UP, restart: { initialMs: 50 }, restartWith: ['store'] }));
      const bystander = await supervisor.start(nodeChild('bystander', `console.log('up'); ${STAY_ALIVE}`, { ...UP, restart: { initialMs: 50 } }));
      process.kill(store.pid, 'SIGKILL');
      const after = await eventually('client restarted', () => {
        const status = statusOf('client');
        return status?.state === 'ready' && status.restarts === 1 ? status : undefined;
      });
      assert.equal(after.lastRestartReason, 'store restarted');
      assert.equal(after.lastExit, null, 'stopping it on purpose is not an exit');
      assert.equal(isPidAlive(client.pid), false);
      assert.equal(statusOf('store')?.state, 'ready');
      assert.equal(statusOf('bystander')?.restarts, 0);
      assert.ok(isPidAlive(bystander.pid));
      // Its own later exit is still a crash with its own backoff.
      process.kill(after.pid as number, 'SIGKILL');
      await eventually('client restarted again', () => (statusOf('client')?.restarts === 2 && statusOf('client')?.state === 'ready' ? true : undefined));
    });

    it('stop during a backoff starts nothing more and leaves no process behind', async () => {
      const child = await supervisor.start(nodeChild('sleeper', `console.log('up'); ${STAY_ALIVE}`, { ...UP, restart: { initialMs: 1_500 } }));
      process.kill(child.pid, 'SIGKILL');
      await eventually('restarting', () => (statusOf('sleeper')?.state === 'restarting' ? true : undefined));
      const began = Date.now();
      await supervisor.stop();
      assert.ok(Date.now() - began < 1_000, 'stop does not wait out the backoff');
      await new Promise((resolve) => setTimeout(resolve, 1_800));
      assert.equal(statusOf('sleeper')?.state, 'stopped');
      assert.equal(statusOf('sleeper')?.pid, null);
      assert.equal(fs.readFileSync(child.logPath, 'utf8').match(/^===== /gm)?.length, 1, 'no second process was started');
    });

    it('restartDelay doubles from initialMs and stops at maxMs (the defaults: 1, 2, 4, 8, 16, 30, 30 s)', () => {
      const policy = { initialMs: 1_000, maxMs: 30_000, maxExits: 5, windowMs: 60_000 };
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelay(policy, n)), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    });
  });

  describe('log rotation', () => {
    it('rotates by size, keeps maxFiles files, and still shows this run’s probe line and tail', async () => {
      const rotation = { maxBytes: 16 * 1024, maxFiles: 3 };
      const local = new Supervisor({ logDir, stopGraceMs: 2_000, logRotation: rotation, report: (message) => reports.push(message) });
      try {
        const noise = `for (let i = 0; i < 3000; i++) console.log('noise line ' + i + ' ' + 'x'.repeat(60));`;
        const child = await local.start(
          nodeChild('chatty', `${noise} console.log('ready now'); setTimeout(() => { console.error('fatal: last words'); process.exit(9); }, 300);`, {
            readiness: [{ type: 'logLine', pattern: /ready now/ }],
          }),
        );
        const report = await local.crashed;
        assert.equal(report.code, 9);
        assert.deepEqual(report.logTail.slice(-2), ['ready now', 'fatal: last words']);
        await local.stop();
        const files = logFiles(child.logPath, rotation);
        assert.deepEqual(files.map((file) => path.basename(file)), ['chatty.log', 'chatty.log.1', 'chatty.log.2']);
        for (const file of files) {
          assert.ok(fs.existsSync(file), `${file} exists`);
          assert.ok(fs.statSync(file).size <= rotation.maxBytes + MAX_CHUNK_BYTES, `${file} is ${fs.statSync(file).size} bytes`);
        }
        assert.equal(fs.existsSync(`${child.logPath}.3`), false, 'no more than maxFiles files');
        assert.match(fs.readFileSync(child.logPath, 'utf8'), /fatal: last words\n$/);
      } finally {
        await local.stop();
      }
    });

    it('refuses a rotation that would keep no old file', () => {
      assert.throws(() => new Supervisor({ logDir, logRotation: { maxBytes: 1_000_000, maxFiles: 1 } }), /maxFiles must be an integer of at least 2/);
    });
  });

  it('writes the stack status file atomically and reads it back', () => {
    const file = path.join(logDir, 'stack.json');
    const status: StackStatus = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      state: 'up',
      endpoints: {
        temporalGrpc: '127.0.0.1:7233', temporalUi: 'http://127.0.0.1:8233', pubsubEmulator: '127.0.0.1:8085', api: 'http://127.0.0.1:3000',
        apiDocs: 'http://127.0.0.1:3000/docs', workerMetrics: 'http://127.0.0.1:9464/metrics', workerHealth: 'http://127.0.0.1:9465/health',
        consumerHealth: 'http://127.0.0.1:9466/health', consumerMetrics: 'http://127.0.0.1:9467/metrics', logs: logDir,
      },
      parts: [],
    };
    writeStackStatus(file, status);
    writeStackStatus(file, { ...status, state: 'stopping' });
    assert.deepEqual(readStackStatus(file), { ...status, state: 'stopping' });
    assert.deepEqual(fs.readdirSync(logDir), ['stack.json'], 'no temp file left');
    assert.equal(readStackStatus(path.join(logDir, 'missing.json')), undefined);
  });

  it('withFreePorts starts again on new ports when the first ones were taken', async () => {
    const seen: number[][] = [];
    const result = await withFreePorts(2, async (ports) => {
      seen.push(ports);
      if (seen.length < 3) throw new Error('pubsub-emulator: listen tcp 127.0.0.1:1: bind: address already in use');
      return 'started';
    });
    assert.equal(result, 'started');
    assert.equal(seen.length, 3);
    assert.ok(seen.every((ports) => ports.length === 2 && ports[0] !== ports[1]));
    await assert.rejects(withFreePorts(1, async () => Promise.reject(new Error('bad flag'))), /bad flag/);
    await assert.rejects(withFreePorts(1, async () => Promise.reject(new Error('listen EADDRINUSE')), { attempts: 2 }), /EADDRINUSE/);
    assert.equal(new Set(await freePorts(20)).size, 20);
  });

  it('withFreePorts starts a child again on a new port when its port was taken before it bound it (EADDRINUSE)', async () => {
    const squatter = http.createServer();
    const attempts: number[] = [];
    try {
      const port = await withFreePorts(1, async ([candidate]) => {
        attempts.push(candidate);
        // The race, staged: someone else binds the port between our pick and the child's bind.
        if (attempts.length === 1) await new Promise<void>((resolve) => squatter.listen(candidate, '127.0.0.1', resolve));
        const server = `require('node:net').createServer().listen(${candidate}, '127.0.0.1', () => console.log('up'));`;
        await supervisor.start(nodeChild('server', server, UP));
        return candidate;
      });
      assert.equal(attempts.length, 2);
      assert.equal(port, attempts[1]);
      assert.equal(await isPortFree('127.0.0.1', port), false, 'the child listens on the second port');
    } finally {
      squatter.close();
    }
  });

  it('freePort returns a loopback port nobody listens on', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    assert.equal(await isPortFree('127.0.0.1', port), true);
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      assert.equal(await isPortFree('127.0.0.1', port), false);
    } finally {
      server.close();
    }
  });

  async function startError(spec: ChildSpec): Promise<ChildStartError> {
    try {
      await supervisor.start(spec);
    } catch (err) {
      assert.ok(err instanceof ChildStartError, `expected ChildStartError, got ${String(err)}`);
      return err;
    }
    assert.fail('start should have failed');
  }
});
