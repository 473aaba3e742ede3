/**
 * `npm run demo`: the whole tour, unattended, with the same commands a user types
 * (`node dist/tools/cli.js ...`), each step printed with its duration:
 *
 *   platform  the running stack (RUN_DIR/stack.json up, live pid), or one started in the background
 *   ingest    the data set (idempotent: a second load of the same content is a no-op)
 *   model     train and promote the revenue model, unless a promoted one exists (--retrain trains again)
 *   analytics the daily-analytics backfill over the whole loaded range
 *   stream    N live orders (stamped with the shop's current time), waited for until stored
 *   refresh   today's KPIs: the intraday-refresh Schedule triggered, and that run waited for, shown
 *             with the stream's share
 *   last day  its KPIs, predicted vs actual and data-quality checks
 *   quality   the data-quality backfill of the last 30 days of the range (--dq-days N|all)
 *
 * Why not every day's checks by default: they cost 2-4 s of CPU a day (the outlier check reads each
 * product's last 365 days), so the whole year is 10-20 CPU minutes, several times the demo's
 * 3-minute budget on 2 cores. Nor in the background: with DuckDB one process writes at a time,
 * and a busy worker would keep the consumer and the CLI waiting for the file until it is done.
 *
 * The model is trained before the backfill so that every backfilled day is scored by it
 * (predicted vs actual per day). A second run re-runs everything but loads nothing twice and
 * trains nothing again: KPIs and checks of a day are upserts; the only new data are this run's
 * live orders, which today's KPIs then show on top of the previous run's (RUN_DIR/demo-last.json).
 *
 * A stack the demo starts is left running (its pid is printed: `kill <pid>` stops it).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { withTemporalClient } from '../clients/connection';
import { formatPounds } from '../lib/analytics/money';
import { loadConfig, PROJECT_ROOT, type Config } from '../lib/config';
import { addDays, zonedDateOf } from '../lib/dates';
import { sha256File } from '../lib/ingest/load';
import { readStackStatus, writeJsonAtomic, type StackStatus } from '../lib/process/status';
import { isPidAlive } from '../lib/process/supervisor';
import { backfillWorkflowId, ScheduleId } from '../lib/temporal/contract';
import { openWarehouse } from '../lib/warehouse';

const CLI = path.join(PROJECT_ROOT, 'dist', 'tools', 'cli.js');
const STACK_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'scripts', 'stack.js');
const READY_LINE = 'retailflow is up';
const STACK_START_TIMEOUT_MS = 240_000;
const DEMO_TAG = 'demo';

const HELP = `Usage: npm run demo [-- --small] [-- --count N --rate R --lines N --retrain]
       (or: node dist/scripts/demo.js [options])

Runs the whole tour against the platform: starts it in the background unless it already runs
(RUN_DIR/stack.json), loads the data, trains and promotes the model, backfills daily analytics
and data quality, streams live orders, refreshes today and prints today's KPIs with the stream's
share and the last day's predicted vs actual. Safe to run again: nothing is loaded twice.

Options:
  --small        a small tour for tests: the first --lines lines of the data set (env DEMO_SMALL=1),
                 in a warehouse of its own (the demo refuses to mix it with the whole file)
  --lines N      lines of the data set with --small, header included [20000]
  --count N      live orders (lines) to stream [2000; 500 with --small]
  --rate R       lines per second of the live stream [1000]
  --retrain      train a new model even if one is promoted (same tag "${DEMO_TAG}")
  --dq-days N    data-quality backfill of the range's last N days, or "all" [30; all with --small]
  -h, --help     this text

The platform it starts keeps running afterwards; the demo prints its pid (kill <pid> stops it).
Environment: the same as npm start (RUN_DIR, DATA_CSV, ports; see .env.example).
`;

interface DemoOptions {
  small: boolean;
  lines: number;
  count: number;
  rate: number;
  retrain: boolean;
  /** Days of the data-quality backfill, counted back from the range's last day; 'all': the whole range. */
  dqDays: number | 'all';
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

function parseOptions(argv: string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      small: { type: 'boolean' },
      lines: { type: 'string' },
      count: { type: 'string' },
      rate: { type: 'string' },
      retrain: { type: 'boolean' },
      'dq-days': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const small = Boolean(values.small) || ['1', 'true', 'yes'].includes((process.env.DEMO_SMALL ?? '').toLowerCase());
  const dqRaw = values['dq-days'] ?? (small ? 'all' : '30');
  const dqDays = dqRaw === 'all' ? 'all' : positive('dq-days', dqRaw, 30);
  return {
    small,
    lines: positive('lines', values.lines, 20_000),
    count: positive('count', values.count, small ? 500 : 2_000),
    rate: positive('rate', values.rate, 1_000),
    retrain: Boolean(values.retrain),
    dqDays,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const started = performance.now();
const TOTAL_STEPS = 8;
let stepNo = 0;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const count = (n: number): string => n.toLocaleString('en-US');
const indent = (text: string, by = '      '): string => text.split('\n').filter((l) => l.trim() !== '').map((l) => `${by}${l}`).join('\n');

function elapsedTotal(): string {
  const s = Math.round((performance.now() - started) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** Runs one step: its title first, then what it printed, then `done in`. */
async function step<T>(title: string, fn: () => Promise<{ value: T; summary: string; details?: string }>): Promise<T> {
  stepNo++;
  console.log(`\n[${stepNo}/${TOTAL_STEPS}] ${title}`);
  const began = performance.now();
  const { value, summary, details } = await fn();
  console.log(`      ${summary} (${seconds(performance.now() - began)})`);
  if (details) console.log(indent(details));
  return value;
}

class DemoError extends Error {}

// ---------------------------------------------------------------------------------------------
// The CLI, as a user runs it

interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * `node dist/tools/cli.js <args>` with this environment (it finds the stack through RUN_DIR/stack.env).
 * On a terminal its stderr (progress bars) goes straight through; otherwise it is kept for errors.
 */
function cli(args: string[]): Promise<CliResult> {
  const live = process.stderr.isTTY;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: process.env, stdio: ['ignore', 'pipe', live ? 'inherit' : 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** The CLI, which must succeed (exit 0). */
async function cliOk(args: string[]): Promise<CliResult> {
  const res = await cli(args);
  if (res.code !== 0) {
    const said = [res.out.trim(), res.err.trim()].filter(Boolean).join('\n');
    throw new DemoError(`retailflow ${args.join(' ')} exited with ${String(res.code)}${said ? `:\n${indent(said, '  ')}` : ''}`);
  }
  return res;
}

async function cliJson<T>(args: string[]): Promise<T> {
  const res = await cliOk(args);
  try {
    return JSON.parse(res.out) as T;
  } catch {
    throw new DemoError(`retailflow ${args.join(' ')} did not print JSON:\n${indent(res.out, '  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The platform

interface Platform {
  status: StackStatus;
  /** True when this demo started it. */
  startedHere: boolean;
}

function readStatus(file: string): StackStatus | undefined {
  try {
    return readStackStatus(file);
  } catch {
    return undefined; // half-written or foreign: treat as absent
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Until the stack in `file` with `pid` is up and has written stack.env, or it is gone. */
async function waitUntilUp(file: string, pid: number, deadline: number, exited: () => boolean): Promise<StackStatus> {
  const envFile = path.join(path.dirname(file), 'stack.env');
  for (;;) {
    const status = readStatus(file);
    if (status?.pid === pid && status.state === 'up' && fs.existsSync(envFile)) return status;
    if (exited() || !isPidAlive(pid)) throw new DemoError(`the platform (pid ${pid}) exited before it was up`);
    if (Date.now() > deadline) throw new DemoError(`the platform (pid ${pid}) was not up within ${STACK_START_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

/** Relative to the current directory when inside it, else absolute. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function logTail(file: string, fromByte: number): string {
  try {
    const text = fs.readFileSync(file).subarray(fromByte).toString('utf8');
    return text.split('\n').slice(-25).join('\n');
  } catch {
    return '';
  }
}

async function ensurePlatform(runDir: string): Promise<Platform> {
  const statusFile = path.join(runDir, 'stack.json');
  const existing = readStatus(statusFile);
  if (existing && isPidAlive(existing.pid)) {
    if (existing.state === 'stopping') throw new DemoError(`the platform (pid ${existing.pid}) is stopping: run the demo again once it has stopped`);
    const status = await waitUntilUp(statusFile, existing.pid, Date.now() + STACK_START_TIMEOUT_MS, () => false);
    return { status, startedHere: false };
  }
  const orphans = (existing?.parts ?? []).filter((p) => p.pid !== null && isPidAlive(p.pid));
  if (existing && orphans.length > 0) {
    throw new DemoError(
      `the stack of ${statusFile} (pid ${existing.pid}) is gone but its parts still run (${orphans.map((p) => `${p.name} ${p.pid}`).join(', ')}): ` +
        'stop them (docs/runbook.md, "Recover after a crash"), then run the demo again',
    );
  }
  if (!fs.existsSync(STACK_SCRIPT)) throw new DemoError(`${STACK_SCRIPT} is missing: run "npm run build" first (npm run demo does)`);
  const logDir = path.join(runDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, 'demo-stack.log');
  const logStart = fs.existsSync(log) ? fs.statSync(log).size : 0;
  const fd = fs.openSync(log, 'a');
  // Detached: its own session, so it outlives this demo and a closed terminal. The stack decides
  // its endpoints from this environment (the same as npm start's).
  const child = spawn(process.execPath, [STACK_SCRIPT], { cwd: PROJECT_ROOT, env: process.env, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new DemoError(`could not start ${STACK_SCRIPT}`);
  console.log(`      starting node dist/scripts/stack.js in the background (pid ${pid}), output in ${displayPath(log)}`);
  try {
    const status = await waitUntilUp(statusFile, pid, Date.now() + STACK_START_TIMEOUT_MS, () => exited);
    if (!logTail(log, logStart).includes(READY_LINE)) await sleep(200); // the banner follows the status file
    return { status, startedHere: true };
  } catch (err) {
    throw new DemoError(`${(err as Error).message}; its output:\n${indent(logTail(log, logStart), '  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The data

interface DataFile {
  file: string;
  from: string;
  to: string;
  lines: number;
}

const DATE_FIELD = /,(\d{1,2})\/(\d{1,2})\/(\d{4}) \d{1,2}:\d{2},/;

function readText(file: string): string {
  const raw = fs.readFileSync(file);
  return (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
}

/** The first and last invoice day of a data set's lines (the data's own M/D/YYYY H:MM dates). */
function dateRange(lines: readonly string[]): { from: string; to: string } {
  let from = '9999-12-31';
  let to = '0000-01-01';
  for (const line of lines) {
    const m = DATE_FIELD.exec(line);
    if (!m) continue;
    const day = `${m[3]}-${m[1].padStart(2, '0')}-${m[2].padStart(2, '0')}`;
    if (day < from) from = day;
    if (day > to) to = day;
  }
  if (from > to) throw new DemoError('no invoice dates found in the data set');
  return { from, to };
}

/** The configured data set, or with --small its first N lines as a CSV in RUN_DIR/demo (same content every run). */
function dataFile(config: Config, options: DemoOptions): DataFile {
  if (!fs.existsSync(config.dataCsv)) throw new DemoError(`the data set ${config.dataCsv} is missing: set DATA_CSV`);
  const all = readText(config.dataCsv).split(/\r?\n/).filter((l) => l !== '');
  if (!options.small) return { file: config.dataCsv, ...dateRange(all), lines: all.length - 1 };
  const head = all.slice(0, options.lines);
  const file = path.join(config.runDir, 'demo', `orders-head-${options.lines}.csv`);
  const text = `${head.join('\n')}\n`;
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return { file, ...dateRange(head), lines: head.length - 1 };
}

// ---------------------------------------------------------------------------------------------
// Results as the CLI and the workflows print them (JSON); only the fields the demo shows.

interface IngestResult {
  status: 'loaded' | 'already-loaded' | string;
  rowsLoaded: number;
  rowsQuarantined: number;
  durationMs: number;
}

interface ModelListing {
  version: string;
  status: string;
}

interface TrainingOutcome {
  version: string;
  trainRows: number;
  testRows: number;
  metrics: { mae: number };
  gate: { promoted: boolean; reason: string };
}

interface Kpis {
  date: string;
  orders: number;
  gross_revenue: string;
  net_revenue: string;
  total_lines: number;
  batch_orders?: number;
  batch_lines?: number;
  stream_orders?: number;
  stream_lines?: number;
}

interface Predictions {
  status: string;
  modelVersion?: string;
  orders?: number;
  lines?: number;
  mae?: string;
  predictedTotal?: string;
  actualTotal?: string;
  reason?: string;
}

interface DayResult {
  outcome?: string;
  date: string;
  reason?: string;
  kpis?: Kpis;
  predictions?: Predictions;
}

interface StreamTotals {
  stored: number;
  duplicates: number;
  deadLettered: number;
  accounted: number;
}

/** What the last run did, in RUN_DIR/demo-last.json: the next run compares today's KPIs with it; tests read it. */
export interface DemoRecord {
  finishedAt: string;
  small: boolean;
  seconds: number;
  ingest: { file: string; status: string; rowsLoaded: number };
  range: { from: string; to: string };
  model: { version: string | null; trained: boolean };
  backfills: { analytics: string; dataQuality: string };
  live: { published: number; stored: number };
  refresh: { via: string; workflowId: string };
  today: Kpis;
  lastDay: { date: string; kpis: Kpis; predictions: Predictions; quality: string };
}

function readRecord(file: string): DemoRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DemoRecord;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The steps

const isoDay = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v)).slice(0, 10);

/**
 * A load is idempotent per file content, not per line: the first lines of the data set (--small)
 * and the whole file are two files with the same lines. Refuse to load one over the other.
 */
async function assertNoOverlappingLoad(config: Config, data: DataFile): Promise<void> {
  const sha = await sha256File(data.file);
  const wh = await openWarehouse(config);
  let loads: Array<{ source_sha256: string; source_path: string; first_invoice_date: unknown; last_invoice_date: unknown }>;
  try {
    loads = (await wh.query('SELECT source_sha256, source_path, first_invoice_date, last_invoice_date FROM ingest_loads')) as typeof loads;
  } catch {
    loads = []; // a new warehouse: no ledger yet
  } finally {
    await wh.close();
  }
  const clash = loads.find((l) => l.source_sha256 !== sha && isoDay(l.first_invoice_date) <= data.to && isoDay(l.last_invoice_date) >= data.from);
  if (clash) {
    const where = config.warehouse.backend === 'duckdb' ? config.warehouse.duckdbPath : `${config.warehouse.bigquery.projectId}.${config.warehouse.bigquery.dataset}`;
    throw new DemoError(
      `the warehouse ${where} already holds ${clash.source_path} (${isoDay(clash.first_invoice_date)}..${isoDay(clash.last_invoice_date)}), ` +
        `another file over the same days: loading ${data.file} as well would count their common lines twice. ` +
        'Give this demo a warehouse of its own (another DUCKDB_PATH, and a RUN_DIR and ports of its own while this platform runs), or run it in the same mode as before',
    );
  }
}

async function ingestStep(config: Config, data: DataFile): Promise<IngestResult> {
  return step(`ingest: ${data.file} (${count(data.lines)} lines, ${data.from}..${data.to})`, async () => {
    await assertNoOverlappingLoad(config, data);
    const r = await cliJson<IngestResult>(['ingest', '--file', data.file, '--json']);
    const summary = r.status === 'already-loaded'
      ? `already loaded: a no-op (the file's content hash is in orders_raw; ${count(r.rowsLoaded)} rows)`
      : `loaded ${count(r.rowsLoaded)} rows into orders_raw, ${count(r.rowsQuarantined)} quarantined`;
    return { value: r, summary };
  });
}

interface ModelState {
  version: string | null;
  trained: boolean;
}

async function modelStep(options: DemoOptions, data: DataFile, uiBase: string): Promise<ModelState> {
  return step<ModelState>('model: train, evaluate and promote the revenue model (trainingWorkflow)', async () => {
    const models = await cliJson<ModelListing[]>(['models', 'list', '--json']);
    const promoted = models.find((m) => m.status === 'promoted');
    if (promoted && !options.retrain) {
      return {
        value: { version: promoted.version, trained: false },
        summary: `${promoted.version} is promoted already: not trained again (npm run demo -- --retrain trains anew)`,
      };
    }
    // Small data ends long before the default holdout boundary (2011-11-01): its last day is the holdout.
    const args = ['models', 'train', '--tag', DEMO_TAG, '--json', ...(options.small ? ['--boundary', data.to, '--trees', '10'] : [])];
    const r = await cliJson<TrainingOutcome>(args);
    return {
      value: { version: r.gate.promoted ? r.version : (promoted?.version ?? null), trained: true },
      summary: `registered ${r.version} (${count(r.trainRows)} training rows, ${count(r.testRows)} holdout rows, holdout MAE ${r.metrics.mae.toFixed(2)})`,
      details: `gate: ${r.gate.reason}\n${uiBase}/model-training-${DEMO_TAG}`,
    };
  });
}

const BACKFILL_SUMMARY = /^(?:data-quality )?backfill .*$/m;
const WORKFLOW_LINE = /^workflow (\S+): (\S+)$/m;

/** `retailflow analytics|dq backfill`, waited for; returns its summary line. */
async function backfillCommand(what: 'analytics' | 'dq', data: DataFile): Promise<{ value: string; summary: string; details?: string }> {
  const res = await cliOk([what, 'backfill', '--from', data.from, '--to', data.to]);
  const summary = BACKFILL_SUMMARY.exec(res.out)?.[0] ?? res.out.trim().split('\n').at(-1) ?? '';
  const link = WORKFLOW_LINE.exec(res.out);
  return { value: summary, summary, details: link ? `${link[1]}: ${link[2]}` : undefined };
}

async function analyticsBackfillStep(data: DataFile): Promise<string> {
  return step(`daily analytics backfill ${data.from}..${data.to}: one workflow per day with data, each scored by the promoted model`, () => backfillCommand('analytics', data));
}

/** The days of the data-quality backfill: the range's last N days, or all of it. */
function qualityRange(data: DataFile, days: DemoOptions['dqDays']): DataFile {
  if (days === 'all') return data;
  const from = addDays(data.to, 1 - days);
  return { ...data, from: from > data.from ? from : data.from };
}

async function qualityBackfillStep(data: DataFile, range: DataFile): Promise<string> {
  const whole = range.from === data.from;
  const title = `data-quality backfill ${range.from}..${range.to}${whole ? '' : ` (the last days; --dq-days all checks from ${data.from})`}: every check of every day`;
  return step(title, async () => {
    const r = await backfillCommand('dq', range);
    return { ...r, details: [r.details, `the findings by day: npm run cli -- dq report --from ${range.from} --to ${range.to}`].filter(Boolean).join('\n') };
  });
}

/**
 * A backfill of the demo's ranges that is still running (an earlier demo stopped with Ctrl-C
 * leaves it running on the platform): follow it to its end first. The same command attaches
 * to it (same range, same workflow ID); meanwhile its worker keeps the DuckDB file busy.
 */
async function followRunningBackfills(config: Config, ranges: Array<{ what: 'analytics' | 'dq'; range: DataFile }>): Promise<void> {
  const running = await withTemporalClient(config, async (client) => {
    const found: typeof ranges = [];
    for (const r of ranges) {
      const id = backfillWorkflowId(r.what === 'analytics' ? 'dailyAnalyticsWorkflow' : 'dataQualityWorkflow', r.range.from, r.range.to);
      const status = await client.workflow.getHandle(id).describe().then((d) => d.status.name, () => undefined);
      if (status === 'RUNNING') found.push(r);
    }
    return found;
  });
  for (const r of running) {
    const began = performance.now();
    console.log(`      an earlier ${r.what} backfill ${r.range.from}..${r.range.to} is still running: following it to its end first`);
    const { summary } = await backfillCommand(r.what, r.range);
    console.log(`      ${summary} (${seconds(performance.now() - began)})`);
  }
}

async function consumerTotals(config: Config): Promise<StreamTotals> {
  const { healthHost, healthPort } = config.stream;
  const res = await fetch(`http://${healthHost}:${healthPort}/stats`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new DemoError(`the stream consumer's /stats answered ${res.status}`);
  const body = (await res.json()) as { totals?: StreamTotals };
  if (!body.totals) throw new DemoError("the stream consumer's /stats has no totals");
  return body.totals;
}

async function streamStep(config: Config, options: DemoOptions): Promise<{ published: number; stored: number }> {
  return step(`live orders: ${count(options.count)} lines at ${count(options.rate)} lines/s, stamped with the shop's time (${config.shop.timeZone})`, async () => {
    const before = await consumerTotals(config);
    const r = await cliJson<{ published: number; failed: number }>(['stream', 'generate', '--live', '--rate', String(options.rate), '--count', String(options.count), '--json']);
    if (r.failed > 0) throw new DemoError(`${r.failed} of the live lines could not be published`);
    // The consumer stores, drops as duplicate or dead-letters each one: wait until all are accounted for.
    const deadline = Date.now() + 120_000;
    let now = before;
    while (now.accounted < before.accounted + r.published) {
      if (Date.now() > deadline) throw new DemoError(`the consumer accounted for ${now.accounted - before.accounted} of ${r.published} lines within 120 s`);
      await sleep(250);
      now = await consumerTotals(config);
    }
    const stored = now.stored - before.stored;
    return {
      value: { published: r.published, stored },
      summary: `published ${count(r.published)} lines to ${config.stream.topic}; the consumer stored ${count(stored)} in orders_stream` +
        `, ${count(now.duplicates - before.duplicates)} duplicates, ${count(now.deadLettered - before.deadLettered)} dead-lettered`,
    };
  });
}

function isKpiResult(r: DayResult | undefined): r is DayResult & { kpis: Kpis } {
  return r !== undefined && r.kpis !== undefined;
}

/** Triggers the intraday-refresh Schedule and waits for that run; undefined when the Schedule is missing or busy. */
async function refreshBySchedule(config: Config): Promise<{ workflowId: string; result: DayResult } | undefined> {
  return withTemporalClient(config, async (client) => {
    const handle = client.schedule.getHandle(ScheduleId.intradayRefresh);
    let seen: Set<string>;
    try {
      seen = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
    } catch {
      return undefined; // no such Schedule (npm start -- --no-schedules)
    }
    await handle.trigger();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const fresh = (await handle.describe()).info.recentActions.find((a) => !seen.has(a.action.workflow.firstExecutionRunId));
      if (fresh) {
        const { workflowId, firstExecutionRunId } = fresh.action.workflow;
        const result = (await client.workflow.getHandle(workflowId, firstExecutionRunId).result()) as DayResult;
        return { workflowId, result };
      }
      await sleep(200);
    }
    return undefined; // skipped: a scheduled refresh was running (overlap SKIP)
  });
}

/** Today's KPIs, recomputed; `show` says what they are (printed after the step's summary). */
async function refreshStep(config: Config, today: string, uiBase: string, show: (k: Kpis) => string): Promise<{ via: string; workflowId: string; kpis: Kpis }> {
  return step(`refresh today (${today}, ${config.shop.timeZone}): trigger the ${ScheduleId.intradayRefresh} Schedule, wait for its run, show today's KPIs`, async () => {
    const scheduled = await refreshBySchedule(config);
    if (scheduled && isKpiResult(scheduled.result)) {
      return {
        value: { via: `schedule ${ScheduleId.intradayRefresh}`, workflowId: scheduled.workflowId, kpis: scheduled.result.kpis },
        summary: `${scheduled.workflowId} recomputed daily-analytics-${today}`,
        details: `${uiBase}/${encodeURIComponent(scheduled.workflowId)}\n${show(scheduled.result.kpis)}`,
      };
    }
    // No Schedule, a skipped trigger or a refresh that found another run of today: the command a user types.
    const why = scheduled ? `the scheduled run ended with "${scheduled.result.outcome ?? '?'}"` : 'the Schedule did not start a run';
    const r = await cliJson<DayResult>(['analytics', 'run', '--date', today, '--json']);
    if (!isKpiResult(r)) throw new DemoError(`analytics run --date ${today}: ${r.reason ?? 'no KPIs'}`);
    return {
      value: { via: 'analytics run --date today', workflowId: `daily-analytics-${today}`, kpis: r.kpis },
      summary: `${why}: ran "analytics run --date ${today}" instead`,
      details: `${uiBase}/daily-analytics-${today}\n${show(r.kpis)}`,
    };
  });
}

const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-');

function kpiLines(k: Kpis): string[] {
  const stream = k.stream_lines ?? 0;
  const streamOrders = k.stream_orders ?? 0;
  return [
    `orders ${count(k.orders)}, lines ${count(k.total_lines)}, gross ${formatPounds(k.gross_revenue)}, net ${formatPounds(k.net_revenue)}`,
    `stream share: ${count(stream)} of ${count(k.total_lines)} lines (${pct(stream, k.total_lines)}), ` +
      `${count(streamOrders)} of ${count(k.orders)} orders (${pct(streamOrders, k.orders)}); batch ${count(k.batch_lines ?? 0)} lines`,
  ];
}

function describePredictions(p: Predictions): string {
  if (p.status === 'scored') {
    const money = (v: string | undefined): string => (v === undefined ? '?' : formatPounds(v));
    return `predicted vs actual: ${money(p.predictedTotal)} predicted vs ${money(p.actualTotal)} actual over ${count(p.orders ?? 0)} orders ` +
      `(${count(p.lines ?? 0)} lines), MAE per order ${money(p.mae)}, model ${p.modelVersion ?? '?'}`;
  }
  return `predicted vs actual: none (${p.reason ?? p.status})`;
}

function todaySummary(k: Kpis, previous: DemoRecord | undefined, published: number): string {
  const lines = kpiLines(k);
  const before = previous?.today.date === k.date ? previous.today.stream_lines ?? 0 : undefined;
  if (before === undefined) {
    lines.push(`no earlier demo run today: the stream's ${count(k.stream_lines ?? 0)} lines include this run's ${count(published)}`);
  } else {
    const added = (k.stream_lines ?? 0) - before;
    const others = added - published;
    lines.push(
      `the previous demo run left ${count(before)} stream lines today; now ${count(k.stream_lines ?? 0)}: +${count(added)}` +
        (others === 0 ? ` = this run's ${count(published)} live orders (nothing counted twice)` : ` (this run's ${count(published)}, and ${count(others)} from other publishers)`),
    );
  }
  return lines.join('\n');
}

interface QualityOutcome {
  status: string;
  counts: { pass: number; warn: number; fail: number };
  reasons: string[];
  warnings: string[];
}

/** `dq run --date D --json`: exit 1 means a check failed, which is a finding, not a failed step. */
async function qualityOfDay(day: string): Promise<QualityOutcome> {
  const args = ['dq', 'run', '--date', day, '--json'];
  const res = await cli(args);
  try {
    if (res.code === 0 || res.code === 1) return JSON.parse(res.out) as QualityOutcome;
  } catch {
    // not JSON: an error message, reported below
  }
  throw new DemoError(`retailflow ${args.join(' ')} exited with ${String(res.code)}:\n${indent([res.out, res.err].join('\n'), '  ')}`);
}

async function lastDayStep(day: string): Promise<{ date: string; kpis: Kpis; predictions: Predictions; quality: string }> {
  return step(`last day ${day}: re-run it (analytics run, dq run) and show predicted vs actual and its checks`, async () => {
    const r = await cliJson<DayResult>(['analytics', 'run', '--date', day, '--json']);
    if (!isKpiResult(r)) throw new DemoError(`analytics run --date ${day}: ${r.reason ?? 'no KPIs'}`);
    const predictions = r.predictions ?? { status: 'none' };
    const q = await qualityOfDay(day);
    const quality = `data quality: ${q.status} (${q.counts.pass} pass, ${q.counts.warn} warn, ${q.counts.fail} fail)`;
    const findings = [...q.reasons, ...q.warnings].map((f) => `  ${f}`);
    return {
      value: { date: day, kpis: r.kpis, predictions, quality },
      summary: `daily-analytics-${day} and data-quality-${day} recomputed (upserts: the day's rows are replaced)`,
      details: [...kpiLines(r.kpis), describePredictions(predictions), quality, ...findings].join('\n'),
    };
  });
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let options: DemoOptions;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const runDir = loadConfig().runDir;
  process.env.RUN_DIR = runDir; // absolute, so every child agrees on it
  const recordFile = path.join(runDir, 'demo-last.json');
  const previous = readRecord(recordFile);
  console.log(`retailflow demo: ${options.small ? `small (the first ${count(options.lines)} lines)` : 'the full data set'}, RUN_DIR ${runDir}`);

  let platform: Platform | undefined;
  try {
    stepNo++;
    console.log(`\n[${stepNo}/${TOTAL_STEPS}] platform: use the running stack or start one`);
    const began = performance.now();
    platform = await ensurePlatform(runDir);
    const { status } = platform;
    console.log(`      ${platform.startedHere ? 'started' : 'already running'}: pid ${status.pid}, ${status.parts.map((p) => `${p.name} ${p.state}`).join(', ')} (${seconds(performance.now() - began)})`);

    // From here on the CLI and this process read the stack's endpoints from RUN_DIR/stack.env.
    const config = loadConfig();
    const ui = status.endpoints.temporalUi;
    const uiBase = `${ui}/namespaces/${config.temporal.namespace}/workflows`;
    const data = dataFile(config, options);
    const today = zonedDateOf(new Date(), config.shop.timeZone);

    const dqRange = qualityRange(data, options.dqDays);
    await followRunningBackfills(config, [{ what: 'analytics', range: data }, { what: 'dq', range: dqRange }]);
    const ingest = await ingestStep(config, data);
    const model = await modelStep(options, data, uiBase);
    const analytics = await analyticsBackfillStep(data);
    const live = await streamStep(config, options);
    const refresh = await refreshStep(config, today, uiBase, (kpis) => todaySummary(kpis, previous, live.published));
    const lastDay = await lastDayStep(data.to);
    const dq = await qualityBackfillStep(data, dqRange);

    const record: DemoRecord = {
      finishedAt: new Date().toISOString(),
      small: options.small,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      ingest: { file: data.file, status: ingest.status, rowsLoaded: ingest.rowsLoaded },
      range: { from: data.from, to: data.to },
      model,
      backfills: { analytics, dataQuality: dq },
      live,
      refresh: { via: refresh.via, workflowId: refresh.workflowId },
      today: refresh.kpis,
      lastDay,
    };
    writeJsonAtomic(recordFile, record);

    const api = status.endpoints.api;
    console.log(`\ndemo done in ${elapsedTotal()}. Open:`);
    console.log(`  Temporal Web UI   ${ui}`);
    console.log(`  the run list      ${uiBase}`);
    console.log(`  API docs          ${status.endpoints.apiDocs}`);
    console.log(`  dashboard         ${api}/dashboard`);
    console.log(`  record of the run ${recordFile}`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`\ndemo failed after ${elapsedTotal()}: ${message}`);
    return 1;
  } finally {
    if (platform?.startedHere) {
      console.log(`\nThe platform this demo started keeps running in the background (pid ${platform.status.pid}; its output: ${path.join(runDir, 'logs', 'demo-stack.log')}).`);
      console.log(`Stop it with: kill ${platform.status.pid}   (every part stops in order; ${path.join(runDir, 'stack.json')} and stack.env are removed)`);
    } else if (platform) {
      console.log(`\nThe platform was already running (pid ${platform.status.pid}); the demo left it so. Stop it with Ctrl-C where npm start runs, or kill ${platform.status.pid}.`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
