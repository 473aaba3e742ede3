/**
 * `retailflow monitor`'s row logic without services: how answers map to OK, WARN and FAIL, the
 * time bound of a check, the exit code, the table and the log line. The run against a real stack
 * is test/integration/monitor.test.ts.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildStatus, StackStatus } from '../lib/process/status';
import { hostRow, partRow, stackRows, STACK_PARTS, type ProcessProbe } from '../lib/monitor/host';
import type { HttpAnswer } from '../lib/monitor/http';
import { BACKLOG_WARN, deadLetterSubscriptionRow, streamSubscriptionRow } from '../lib/monitor/pubsub';
import {
  CheckTimeoutError,
  DEFAULT_CHECK_TIMEOUT_MS,
  errorLine,
  exitCodeOf,
  logRecord,
  ok,
  relativeTime,
  renderTable,
  runCheck,
  runChecks,
  warn,
  type Check,
  type MonitorRow,
} from '../lib/monitor/rows';
import { apiCheck, apiRow, consumerRow, consumerStatsOnce, estimateBacklog, webUiRow, type ConsumerStats } from '../lib/monitor/services';
import { frontendRow, POLLER_FRESH_MS, scheduleRow, taskQueueRow, type ScheduleFacts } from '../lib/monitor/temporal';
import { warehouseCheck, warehouseRow } from '../lib/monitor/warehouse';
import type { StreamTotals } from '../lib/stream/accounting';
import { loadOrdersFile } from '../lib/ingest/load';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';

const NOW = new Date('2024-05-06T12:00:00Z');
const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
const answer = (status: number, body: unknown, ms = 3): HttpAnswer => ({ url: 'http://x', status, body, ms });
const refused = (): Error => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });

function totals(over: Partial<StreamTotals> = {}): StreamTotals {
  return {
    stored: 90, duplicates: 5, deadLettered: 5, accounted: 100, highValue: 1, firstAt: ago(120_000).toISOString(), lastAt: ago(5_000).toISOString(),
    overallRate: 1, recentRate: { stored: 1.5, duplicates: 0, deadLettered: 0 }, ...over,
  };
}
const stats = (over: Partial<StreamTotals> = {}): ConsumerStats => ({ totals: totals(over) });

describe('monitor: running checks', () => {
  it('a check that does not answer in time is a FAIL row per part, "timed out after …", and its signal aborts', async () => {
    let aborted = false;
    const hanging: Check = {
      parts: ['a', 'b'],
      run: (signal) => new Promise<MonitorRow[]>(() => signal.addEventListener('abort', () => (aborted = true))),
    };
    const began = Date.now();
    const rows = await runCheck(hanging, 100);
    assert.ok(Date.now() - began < 1_000);
    assert.deepEqual(rows.map((r) => [r.part, r.status, r.detail]), [['a', 'fail', 'timed out after 0.1 s'], ['b', 'fail', 'timed out after 0.1 s']]);
    assert.ok(aborted, 'the check was told to stop');
  });

  it('says "timed out after 2 s" at the default bound', () => {
    assert.equal(DEFAULT_CHECK_TIMEOUT_MS, 2_000);
    assert.equal(new CheckTimeoutError(DEFAULT_CHECK_TIMEOUT_MS).message, 'timed out after 2 s');
  });

  it('a check that throws is a FAIL row per part with the error', async () => {
    const rows = await runCheck({ parts: ['p'], run: () => Promise.reject(new Error('boom\nsecond line')) }, 1_000);
    assert.deepEqual(rows, [{ part: 'p', status: 'fail', detail: 'boom' }]);
    const sync = await runCheck({ parts: ['q'], run: () => { throw new Error('at once'); } }, 1_000);
    assert.equal(sync[0].detail, 'at once');
  });

  it('runs the checks in parallel and keeps their order; WARN exits 0, FAIL exits 1', async () => {
    const slow = (rows: MonitorRow[]): Check => ({ parts: rows.map((r) => r.part), run: () => new Promise((r) => setTimeout(() => r(rows), 150)) });
    const began = Date.now();
    const report = await runChecks([slow([ok('one', 'fine')]), slow([warn('two', 'hmm')]), slow([ok('three', 'fine')])], 1_000);
    assert.ok(Date.now() - began < 400, `took ${Date.now() - began} ms`);
    assert.deepEqual(report.rows.map((r) => r.part), ['one', 'two', 'three']);
    assert.equal(report.status, 'warn');
    assert.equal(exitCodeOf(report), 0);
    const failing = await runChecks([slow([ok('one', 'fine')]), { parts: ['late'], run: () => new Promise(() => undefined) }], 50);
    assert.equal(failing.status, 'fail');
    assert.equal(exitCodeOf(failing), 1);
  });

  it('runs the checks marked `last` after the others, each with its own time limit, rows still in order', async () => {
    const events: string[] = [];
    const check = (part: string, ms: number, last = false): Check => ({
      parts: [part],
      last,
      run: async () => {
        events.push(`start ${part}`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`end ${part}`);
        return [ok(part, 'fine')];
      },
    });
    const report = await runChecks([check('a', 150), check('w', 150, true), check('b', 50)], 200);
    assert.deepEqual(report.rows.map((r) => [r.part, r.status]), [['a', 'ok'], ['w', 'ok'], ['b', 'ok']]);
    assert.deepEqual(events, ['start a', 'start b', 'end b', 'end a', 'start w', 'end w']);
  });

  it('renders a padded table and a log line with each row\'s status', async () => {
    const report = await runChecks([{ parts: ['a'], run: async () => [ok('a', 'fine'), warn('longer part', 'look')] }], 1_000);
    const lines = renderTable(report).split('\n');
    assert.match(lines[0], /^retailflow monitor {2}\S+Z {2}WARN \(1 WARN; 2 rows in /);
    assert.equal(lines[1], 'PART         STATUS  DETAIL');
    assert.equal(lines[2], 'a            OK      fine');
    assert.equal(lines[3], 'longer part  WARN    look');
    const record = logRecord(report);
    assert.deepEqual(record.rows, { a: 'ok', 'longer part': 'warn' });
    assert.deepEqual(record.problems, { 'longer part': 'look' });
    assert.equal(record.status, 'warn');
    assert.equal(record.time, report.time);
  });

  it('phrases errors and times for people', () => {
    assert.equal(errorLine(refused()), 'connection refused');
    assert.equal(relativeTime(ago(42_000), NOW), '42 s ago');
    assert.equal(relativeTime(new Date(NOW.getTime() + 3 * 3600_000 + 5 * 60_000), NOW), 'in 3 h 5 min');
    assert.equal(relativeTime(NOW, NOW), 'just now');
  });
});

describe('monitor: API, consumer, Web UI rows', () => {
  const healthy = { status: 'healthy', model: { loaded: true, version: 'v7' }, checks: { warehouse: { ok: true, latencyMs: 1 }, temporal: { ok: true, latencyMs: 2 } } };

  it('api: healthy with the model version; no promoted model is still OK', () => {
    const row = apiRow('http://127.0.0.1:3000', answer(200, healthy), answer(200, { version: 'v7', loaded_at: NOW.toISOString() }));
    assert.equal(row.status, 'ok');
    assert.match(row.detail, /^healthy \(3 ms; warehouse ok, temporal ok\); model v7$/);
    const none = apiRow('http://127.0.0.1:3000', answer(200, healthy), answer(503, { message: 'no promoted revenue model yet' }));
    assert.equal(none.status, 'ok');
    assert.match(none.detail, /model none promoted yet/);
  });

  it('api: degraded is WARN naming the failing dependency; no answer or not 200 is FAIL', () => {
    const degraded = { ...healthy, status: 'degraded', checks: { ...healthy.checks, temporal: { ok: false, latencyMs: 2000, error: 'no answer within 2000 ms' } } };
    const row = apiRow('http://h:1', answer(200, degraded), answer(503, {}));
    assert.equal(row.status, 'warn');
    assert.match(row.detail, /^degraded: temporal: no answer within 2000 ms/);
    const down = apiRow('http://h:1', refused(), refused());
    assert.deepEqual([down.status, down.detail], ['fail', 'http://h:1/health: connection refused']);
    assert.equal(apiRow('http://h:1', answer(500, 'oops'), answer(503, {})).status, 'fail');
  });

  it('api: a real request to a port with nothing listening is a FAIL row', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const [row] = await runCheck(apiCheck(`http://127.0.0.1:${port}`), 2_000);
    assert.deepEqual([row.part, row.status, row.detail], ['api', 'fail', `http://127.0.0.1:${port}/health: connection refused`]);
  });

  it('api: a server that accepts but never answers is "timed out after …"', async () => {
    const server = http.createServer(() => undefined); // never responds
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const [row] = await runCheck(apiCheck(`http://127.0.0.1:${port}`), 200);
      assert.deepEqual([row.status, row.detail], ['fail', 'timed out after 0.2 s']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('consumer: running is OK with lag, rates and last write; starting is WARN; failing to write or no answer is FAIL', () => {
    const body = { status: 'healthy', state: 'RUNNING', inFlight: 3, counts: { received: 10, writeFailures: 0 }, model: { status: 'ready', modelVersion: 'v7' } };
    const row = consumerRow('http://c/health', answer(200, body), stats(), estimateBacklog(130, 100), NOW);
    assert.equal(row.status, 'ok');
    assert.equal(row.detail, 'healthy (RUNNING); in flight 3; lag ~30 msgs; last 60 s 1.5 stored/s, 0.0 dup/s, 0.0 dlq/s; last write 5 s ago; model v7');
    assert.equal(consumerRow('http://c/health', answer(503, { ...body, status: 'unhealthy', state: 'STARTING' }), stats(), undefined, NOW).status, 'warn');
    const failing = consumerRow('http://c/health', answer(503, { ...body, status: 'unhealthy', error: 'disk full' }), stats(), undefined, NOW);
    assert.equal(failing.status, 'fail');
    assert.match(failing.detail, /error: disk full$/);
    assert.equal(consumerRow('http://c/health', refused(), new Error('no stats'), undefined, NOW).status, 'fail');
    const noTotals = consumerRow('http://c/health', answer(200, body), new Error('/stats: no answer within 1.5 s'), undefined, NOW);
    assert.deepEqual([noTotals.status, noTotals.detail], ['warn', 'healthy (RUNNING); in flight 3; lag and rates unknown (/stats: no answer within 1.5 s); model v7']);
  });

  it('consumer stats: fetched once for both rows, and given up before the check times out', async () => {
    let requests = 0;
    const server = http.createServer(() => void requests++); // never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const stats = consumerStatsOnce(`http://127.0.0.1:${port}/stats`, 400);
      const began = Date.now();
      const [a, b] = await Promise.all([stats(), stats()]);
      assert.ok(a instanceof Error && a === b);
      assert.equal(a.message, '/stats: no answer within 0.3 s');
      assert.ok(Date.now() - began < 400, `gave up after ${Date.now() - began} ms`);
      assert.equal(requests, 1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('web ui: HTTP 200 is OK, anything else FAIL', () => {
    assert.equal(webUiRow('http://ui/', answer(200, '<html>')).status, 'ok');
    assert.equal(webUiRow('http://ui/', answer(502, '')).status, 'fail');
    assert.equal(webUiRow('http://ui/', refused()).detail, 'http://ui/: connection refused');
  });
});

describe('monitor: Pub/Sub rows', () => {
  it('estimates the backlog as published (log) minus accounted, never below 0, and says it is an estimate', () => {
    const row = streamSubscriptionRow('orders-warehouse', { exists: true, topic: 'orders' }, stats({ accounted: 100 }), 250);
    assert.equal(row.status, 'ok');
    assert.match(row.detail, /^backlog ~150 \(estimated: 250 published per the publish log - 100 accounted by the consumer; the emulator reports no backlog\)$/);
    assert.equal(row.data?.backlog, 150);
    const behind = streamSubscriptionRow('orders-warehouse', { exists: true, topic: 'orders' }, stats({ accounted: 100 }), 0);
    assert.equal(behind.data?.backlog, 0);
    assert.match(behind.detail, /the log misses publishers/);
  });

  it('a high backlog is WARN, a missing subscription FAIL, unknown stats WARN', () => {
    assert.equal(streamSubscriptionRow('s', { exists: true, topic: 'orders' }, stats({ accounted: 0 }), BACKLOG_WARN).status, 'warn');
    assert.equal(streamSubscriptionRow('s', { exists: false }, stats(), 0).status, 'fail');
    assert.equal(streamSubscriptionRow('s', { exists: true, topic: 'orders' }, new Error('down'), 0).status, 'warn');
    const dlq = deadLetterSubscriptionRow('orders-dlq-inspect', { exists: true, topic: 'orders-dlq' }, stats({ deadLettered: 5 }));
    assert.equal(dlq.status, 'ok');
    assert.match(dlq.detail, /5 dead-lettered in all; its backlog is not measurable/);
  });
});

describe('monitor: Temporal rows', () => {
  it('frontend: answers with the namespace OK; a missing namespace or no answer FAIL', () => {
    assert.equal(frontendRow('h:7233', 'default', { serverVersion: '1.27.0', latencyMs: 2, namespaceState: 'NAMESPACE_STATE_REGISTERED' }).status, 'ok');
    assert.equal(frontendRow('h:7233', 'nope', { serverVersion: '1.27.0', latencyMs: 2, namespaceState: undefined }).status, 'fail');
    assert.equal(frontendRow('h:7233', 'default', new Error('Failed to connect before the deadline')).status, 'fail');
  });

  it('task queue: a poller seen recently (server view) is OK; none, or only stale ones, FAIL', () => {
    const fresh = taskQueueRow('retailflow', 'workflow', [{ identity: '42@host', lastAccessTime: ago(3_000) }], NOW);
    assert.deepEqual([fresh.part, fresh.status, fresh.detail], ['task queue retailflow/workflow', 'ok', '1 poller (42@host), last poll 3 s ago']);
    const none = taskQueueRow('retailflow', 'activity', [], NOW);
    assert.deepEqual([none.status, none.detail], ['fail', 'no pollers: no worker polls this queue']);
    const stale = taskQueueRow('retailflow', 'activity', [{ identity: '42@host', lastAccessTime: ago(POLLER_FRESH_MS + 60_000) }], NOW);
    assert.equal(stale.status, 'fail');
    assert.match(stale.detail, /^no poll for 3 min \(last: 42@host\)$/);
  });

  it('schedule: next run and last result; paused or not found WARN; a failed last run FAIL', () => {
    const facts: ScheduleFacts = {
      paused: false, note: undefined, nextRun: new Date(NOW.getTime() + 3600_000), running: 0,
      last: { scheduledAt: ago(3600_000), workflowId: 'daily-analytics-scheduled-x', status: 'COMPLETED', outcome: 'no-data' },
    };
    const row = scheduleRow('daily-analytics', facts, NOW);
    assert.deepEqual([row.part, row.status], ['schedule daily-analytics', 'ok']);
    assert.equal(row.detail, 'next 2024-05-06T13:00:00Z (in 1 h); last 2024-05-06T11:00:00Z completed (no-data)');
    assert.equal(scheduleRow('x', { ...facts, last: undefined }, NOW).detail, 'next 2024-05-06T13:00:00Z (in 1 h); no run yet');
    assert.equal(scheduleRow('x', { ...facts, paused: true, note: 'maintenance' }, NOW).status, 'warn');
    assert.match(scheduleRow('x', { ...facts, paused: true, note: 'maintenance' }, NOW).detail, /^paused \(maintenance\)/);
    assert.equal(scheduleRow('x', 'not-found', NOW).status, 'warn');
    const failed = scheduleRow('x', { ...facts, last: { ...facts.last!, status: 'FAILED', outcome: undefined } }, NOW);
    assert.equal(failed.status, 'fail');
    assert.match(failed.detail, /last 2024-05-06T11:00:00Z failed: see daily-analytics-scheduled-x in the Web UI/);
    assert.equal(scheduleRow('x', { ...facts, last: { ...facts.last!, status: 'RUNNING' } }, NOW).status, 'ok');
  });
});

describe('monitor: warehouse, host and stack rows', () => {
  it('warehouse: reachable with last load and newest lines; none yet is still OK; an error FAIL', () => {
    const row = warehouseRow({
      backend: 'duckdb', latencyMs: 4,
      lastLoad: { sourcePath: '/data/online_retail.csv.gz', rowsLoaded: 541_909, rowsQuarantined: 0, loadedAt: ago(7_200_000).toISOString() },
      newestBatchLine: '2011-12-09T12:50:00.000Z', newestStreamLine: null,
    }, NOW);
    assert.equal(row.status, 'ok');
    assert.equal(row.detail, 'duckdb reachable (4 ms); last load 2 h ago: 541,909 rows from online_retail.csv.gz; newest line: batch 2011-12-09T12:50:00Z, stream none');
    const empty = warehouseRow({ backend: 'duckdb', latencyMs: 1, lastLoad: undefined, newestBatchLine: null, newestStreamLine: null }, NOW);
    assert.equal(empty.status, 'ok');
    assert.match(empty.detail, /no load yet/);
    assert.equal(warehouseRow(new Error('cannot open DuckDB warehouse x: Could not set lock on file'), NOW).status, 'fail');
  });

  it('warehouse check: a DuckDB file with nothing loaded, then after a load (real queries, no server)', async function () {
    this.timeout(30_000);
    const dir = tempDir();
    const duckdbPath = path.join(dir, 'w.duckdb');
    const warehouse = { ...loadConfig({ RETAILFLOW_STACK_ENV: 'none' }).warehouse, backend: 'duckdb' as const, duckdbPath };
    const [none] = await runCheck(warehouseCheck(warehouse, 2_000, () => NOW), 2_000);
    assert.equal(none.status, 'warn', 'no file: not created by the monitor');
    const wh = new DuckDBWarehouse({ path: duckdbPath });
    await wh.query('SELECT 1 AS ok');
    await wh.close();
    const [empty] = await runCheck(warehouseCheck(warehouse, 2_000, () => NOW), 2_000);
    assert.equal(empty.status, 'ok', empty.detail);
    assert.match(empty.detail, /no load yet .*newest line: batch none, stream none$/);
    const loader = new DuckDBWarehouse({ path: duckdbPath });
    await loadOrdersFile(loader, writeCsv(realDataHead(101)));
    await loader.close();
    const [loaded] = await runCheck(warehouseCheck(warehouse, 2_000, () => new Date()), 2_000);
    assert.equal(loaded.status, 'ok', loaded.detail);
    assert.match(loaded.detail, /last load (just now|\d+ s ago): 100 rows from \S+\.csv; newest line: batch 2010-12-01T\d\d:\d\d:00Z, stream none$/);
  });

  it('host: load and memory; overloaded or low memory is WARN, never FAIL', () => {
    const gib = 1024 ** 3;
    const fine = hostRow({ loadavg: [0.5, 0.4, 0.3], cpus: 2, totalMem: 8 * gib, freeMem: 6 * gib });
    assert.equal(fine.status, 'ok');
    assert.equal(fine.detail, 'load 0.50 0.40 0.30 (2 cores); memory 2.0 GiB of 8.0 GiB used (25 %), 6.0 GiB available');
    assert.equal(hostRow({ loadavg: [5, 4, 3], cpus: 2, totalMem: 8 * gib, freeMem: 6 * gib }).status, 'warn');
    assert.equal(hostRow({ loadavg: [0, 0, 0], cpus: 2, totalMem: 8 * gib, freeMem: 0.5 * gib }).status, 'warn');
  });

  const part = (over: Partial<ChildStatus>): ChildStatus => ({
    name: 'api', pid: 100, state: 'ready', restarts: 0, lastExit: null, lastRestartReason: null, since: ago(60_000).toISOString(), logPath: '/run/logs/api.log', ...over,
  });
  const probe: ProcessProbe = { alive: (pid) => pid !== 999, rss: () => 50 * 1024 * 1024 };
  const status = (parts: ChildStatus[]): StackStatus => ({
    pid: 1, startedAt: ago(3600_000).toISOString(), updatedAt: NOW.toISOString(), state: 'up', parts,
    endpoints: {} as StackStatus['endpoints'],
  });

  it('process rows: ready OK with RSS; a recent restart WARN; crashed or a vanished pid FAIL', () => {
    const row = partRow(part({}), NOW, probe);
    assert.deepEqual([row.part, row.status, row.detail], ['process api', 'ok', 'ready, pid 100, RSS 50 MiB; no restarts']);
    const restarted = partRow(part({ restarts: 1, lastExit: { code: null, signal: 'SIGKILL', at: ago(30_000).toISOString() }, lastRestartReason: 'exited on signal SIGKILL' }), NOW, probe);
    assert.equal(restarted.status, 'warn');
    assert.match(restarted.detail, /1 restart, last exit 30 s ago \(exited on signal SIGKILL\)/);
    const healedLongAgo = partRow(part({ restarts: 2, lastExit: { code: 1, signal: null, at: ago(3600_000).toISOString() } }), NOW, probe);
    assert.equal(healedLongAgo.status, 'ok');
    assert.equal(partRow(part({ state: 'crashed', pid: null }), NOW, probe).status, 'fail');
    assert.equal(partRow(part({ state: 'restarting', pid: null }), NOW, probe).status, 'warn');
    assert.equal(partRow(part({ pid: 999 }), NOW, probe).status, 'fail');
  });

  it('stack rows: no status file, or a stale one, FAIL; restarts summed', () => {
    const missing = stackRows('/run/stack.json', undefined, NOW, probe);
    assert.deepEqual(missing.map((r) => r.status), ['fail', ...STACK_PARTS.map(() => 'fail')]);
    assert.match(missing[0].detail, /no stack running: \/run\/stack.json is missing/);
    const up = stackRows('/run/stack.json', status(STACK_PARTS.map((name, i) => part({ name, pid: 100 + i, restarts: i === 2 ? 1 : 0 }))), NOW, probe);
    assert.deepEqual(up.map((r) => r.part), ['stack', ...STACK_PARTS.map((n) => `process ${n}`)]);
    assert.equal(up[0].status, 'ok');
    assert.match(up[0].detail, /^up, pid 1, started 1 h ago; 1 restarts in all$/);
    const stale = stackRows('/run/stack.json', { ...status([part({})]), pid: 999 }, NOW, probe);
    assert.equal(stale[0].status, 'fail');
    assert.match(stale[0].detail, /stale/);
  });
});
