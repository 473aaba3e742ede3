import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ChildStartError,
  freePort,
  isPidAlive,
  isPortFree,
  Supervisor,
  type ChildSpec,
  type ExitReport,
} from '../lib/process/supervisor';

/** A child spec running a snippet of JavaScript in a fresh node. */
function nodeChild(name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { name, command: process.execPath, args: ['-e', script], ...extra };
}

const STAY_ALIVE = 'setInterval(() => {}, 1000);';

describe('process supervisor', function () {
  this.timeout(30_000);
  let logDir: string;
  let supervisor: Supervisor;
  let reports: string[];

  beforeEach(() => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
    reports = [];
    supervisor = new Supervisor({ logDir, stopGraceMs: 2_000, report: (message) => reports.push(message) });
  });

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
