/**
 * Fault: the disk is full or read-only (issue 15, fault suite), for real: a tmpfs of the test's
 * own, its size limit reached (ENOSPC) or remounted read-only (EROFS).
 *
 * - `retailflow ingest` (the real CLI process) onto a full disk: one clear line, no stack trace,
 *   no partial rows (before the fix, 206,144 of the real file's lines stayed in orders_raw, where
 *   the KPIs would count them); with space again the re-run loads every line, exactly.
 * - `retailflow ingest` into a read-only data directory: one clear line; writable again, it loads.
 * - The daily workflow's CSV export (data/daily_metrics_<date>.csv) onto a full and onto a
 *   read-only data directory, on a real worker: the step retries, no half-written or temp file is
 *   left, and once the disk is back the workflow completes with the whole file and one
 *   daily_metrics row for the day.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDailyAnalytics } from '../../clients/per-day';
import { dailyMetricsCsv } from '../../lib/analytics/report-csv';
import type { DailyKpis } from '../../lib/analytics/daily';
import { loadOrdersFile } from '../../lib/ingest/load';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { services } from '../hooks';
import { runCli, type CliRun } from '../support/cli';
import { HEADER, realDataHead, tempDir, writeCsv } from '../support/fixtures';
import { mountTmpfs, tmpfsUnavailable, type Tmpfs } from '../support/tmpfs';
import { startTestWorker, type TestWorker } from '../support/worker';
import { activityAttempts } from '../support/workflow-test-env';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** 150,000 real lines and three malformed ones, so the re-run also proves the quarantine. */
const MALFORMED = ['536365,85123A,NO QUANTITY,,12/1/2010 8:26,2.55,17850,United Kingdom', 'not,a,row', '536365,71053,BAD DATE,6,13/45/2010 8:26,3.39,17850,United Kingdom'];
const SAMPLE = [...realDataHead(150_001), ...MALFORMED];
const SAMPLE_LINES = SAMPLE.length - 1;
/** Room for the schema and a part of the sample's rows, not all of them. */
const FULL_KIB = 1_024;

function cliEnv(dbPath: string, dataDir: string): NodeJS.ProcessEnv {
  return { RETAILFLOW_STACK_ENV: 'none', WAREHOUSE: 'duckdb', DUCKDB_PATH: dbPath, DATA_DIR: dataDir, RUN_DIR: path.join(tempDir('retailflow-disk-run-'), 'run') };
}

/** The one line the user sees, and no stack trace. */
function assertOneLineError(run: CliRun, expected: RegExp): void {
  assert.equal(run.code, 1, `${run.out}\n${run.err}`);
  const lines = run.err.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('ingest ['));
  assert.equal(lines.length, 1, `one line of error, got:\n${run.err}`);
  assert.match(lines[0], expected);
  assert.doesNotMatch(run.err, /^\s+at /m, 'no stack trace');
}

async function tableCounts(dbPath: string): Promise<Record<string, number>> {
  const wh = new DuckDBWarehouse({ path: dbPath });
  try {
    const [row] = await wh.query<Record<string, number>>(
      'SELECT (SELECT COUNT(*) FROM orders_raw) AS orders_raw, (SELECT COUNT(*) FROM orders_quarantine) AS orders_quarantine, (SELECT COUNT(*) FROM ingest_loads) AS ingest_loads');
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
  } finally {
    await wh.close();
  }
}

describe('@integration fault: a full or read-only disk', function () {
  this.timeout(180_000);
  const mounts: Tmpfs[] = [];
  const sample = writeCsv(SAMPLE, { gzip: true });
  const mountFor = (prefix: string, kib: number) => {
    const m = mountTmpfs(prefix, kib);
    mounts.push(m);
    return m;
  };
  before(function () {
    const why = tmpfsUnavailable();
    if (why) {
      console.warn(`      skipped: ${why}`);
      this.skip();
    }
  });
  after(() => {
    for (const m of mounts) m.unmount();
  });

  it('ingest onto a full disk: one clear line, no partial rows; with space again every line is loaded or quarantined, once', async () => {
    const disk = mountFor('retailflow-full-', FULL_KIB);
    const dbPath = path.join(disk.dir, 'warehouse.duckdb');
    const env = cliEnv(dbPath, path.join(disk.dir, 'data'));
    const full = await runCli(['ingest', '--file', sample], env);
    assertOneLineError(full, /^error: cannot write the DuckDB warehouse .*warehouse\.duckdb: no space left on device; the write was rolled back/);

    disk.resize(64 * 1_024);
    assert.deepEqual(await tableCounts(dbPath), { orders_raw: 0, orders_quarantine: 0, ingest_loads: 0 }, 'nothing of the failed load is kept');
    const again = await runCli(['ingest', '--file', sample, '--json'], env);
    assert.equal(again.code, 0, again.err);
    const result = JSON.parse(again.out) as { status: string; rowsLoaded: number; rowsQuarantined: number };
    assert.equal(result.status, 'loaded');
    assert.equal(result.rowsQuarantined, MALFORMED.length);
    assert.equal(result.rowsLoaded + result.rowsQuarantined, SAMPLE_LINES);
    assert.deepEqual(await tableCounts(dbPath), { orders_raw: result.rowsLoaded, orders_quarantine: MALFORMED.length, ingest_loads: 1 });
  });

  it('ingest into a read-only data directory: one clear line; writable again, it loads', async () => {
    const disk = mountFor('retailflow-ro-', 64 * 1_024);
    const dbPath = path.join(disk.dir, 'warehouse.duckdb');
    const env = cliEnv(dbPath, path.join(disk.dir, 'data'));
    disk.readOnly();
    const refused = await runCli(['ingest', '--file', sample], env);
    assertOneLineError(refused, /^error: cannot open the DuckDB warehouse .*warehouse\.duckdb: read-only file system/);
    disk.writable();
    const again = await runCli(['ingest', '--file', sample, '--json'], env);
    assert.equal(again.code, 0, again.err);
    assert.equal((JSON.parse(again.out) as { rowsLoaded: number }).rowsLoaded, SAMPLE_LINES - MALFORMED.length);
  });

  describe('the daily CSV export on a real worker', () => {
    let worker: TestWorker | undefined;
    let wh: DuckDBWarehouse;
    let disk: Tmpfs;
    before(async () => {
      disk = mountFor('retailflow-export-', 4 * 1_024);
      wh = new DuckDBWarehouse({ path: path.join(tempDir('retailflow-export-db-'), 'warehouse.duckdb') });
      await loadOrdersFile(wh, writeCsv([HEADER, ...realDataHead(8_001).slice(1)]));
      worker = await startTestWorker({ warehouse: wh, dataDir: disk.dir, name: 'disk' });
    });
    after(async () => {
      await worker?.stop();
      await wh?.close();
    });

    const cases: Array<{ fault: string; day: string; breakDisk: () => void; mendDisk: () => void }> = [
      { fault: 'full', day: '2010-12-02', breakDisk: () => disk.fill(), mendDisk: () => disk.free() },
      { fault: 'read-only', day: '2010-12-03', breakDisk: () => disk.readOnly(), mendDisk: () => disk.writable() },
    ];
    for (const { fault, day, breakDisk, mendDisk } of cases) {
      it(`a ${fault} data directory: the export step retries, leaves no partial file, and completes once the disk is back`, async function () {
        for (const f of fs.readdirSync(disk.dir)) fs.rmSync(path.join(disk.dir, f));
        const csv = path.join(disk.dir, `daily_metrics_${day}.csv`);
        breakDisk();
        const handle = await startDailyAnalytics(services().temporal.client, worker!.taskQueue, day);
        await sleep(3_500); // attempts 1 and 2 (1 s backoff) meet the broken disk
        assert.deepEqual(fs.readdirSync(disk.dir).filter((f) => f !== '.filler'), [], 'no report and no temp file while the disk is broken');
        mendDisk();
        const result = (await handle.result()) as { kpis: DailyKpis; csvPath: string };

        const attempts = activityAttempts(await handle.fetchHistory()).filter((a) => a.type === 'storeDailyReport');
        assert.ok(attempts.length === 1 && attempts[0].attempt > 1, `the export was retried: ${JSON.stringify(attempts)}`);
        assert.equal(fs.readFileSync(csv, 'utf8'), dailyMetricsCsv(result.kpis), 'the whole report');
        assert.deepEqual(fs.readdirSync(disk.dir), [path.basename(csv)], 'no temp file left behind');
        const rows = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM daily_metrics WHERE report_date = @d', { d: day });
        assert.equal(Number(rows[0].n), 1, 'the day is stored once');
        if (this.test) this.test.title += ` [storeDailyReport attempt ${attempts[0].attempt}]`;
      });
    }
  });
});
