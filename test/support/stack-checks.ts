/**
 * What the tests against a running stack (test/support/stack.ts) ask of it: the CLI run against
 * it, the stream's accounting, and the stored KPIs checked against the independent reference.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import type { Warehouse } from '../../lib/warehouse/types';
import { CLI } from './cli';
import { referenceKpis } from './reference-kpis';
import { sleep, startStack, type RunningStack } from './stack';

export function dayRange(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** The real data's header and first `lines` lines as `<dir>/sample.csv.gz`; resolves with its path. */
export function realDataSample(dir: string, lines: number): string {
  const file = path.join(dir, 'sample.csv.gz');
  const text = zlib.gunzipSync(fs.readFileSync(loadConfig().dataCsv)).toString('utf8');
  fs.writeFileSync(file, zlib.gzipSync(`${text.split('\n').slice(0, lines + 1).join('\n')}\n`));
  return file;
}

/** `npm start`'s stack in a new run dir under the OS temp dir, with the real data's first `lines` lines ingested. */
export async function startStackWithSample(prefix: string, lines: number): Promise<{ runDir: string; stack: RunningStack; sample: string }> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const stack = await startStack({ runDir });
  const sample = realDataSample(runDir, lines);
  await stackCli(stack, ['ingest', '--file', sample, '--json']);
  return { runDir, stack, sample };
}

/** Run the CLI against the stack; resolves with stdout, rejects with its output on a non-zero exit. */
export async function stackCli(stack: RunningStack, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: stack.env, timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`retailflow ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** Resolves with the probe's first defined value; a throwing probe counts as "not yet". */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(500);
  }
}

export interface StreamStats {
  stored: number;
  duplicates: number;
  deadLettered: number;
  accounted: number;
  publishedLogged: number;
}

export const streamStats = async (stack: RunningStack): Promise<StreamStats> =>
  JSON.parse(await stackCli(stack, ['stream', 'stats', '--json'])) as StreamStats;

/** Resolves once every published message is accounted for; fails if more are (a double count). */
export function streamSettles(stack: RunningStack, timeoutMs = 90_000): Promise<StreamStats> {
  return eventually('the stream to settle', async () => {
    const stats = await streamStats(stack);
    assert.ok(stats.accounted <= stats.publishedLogged, `more accounted than published: ${JSON.stringify(stats)}`);
    return stats.accounted === stats.publishedLogged ? stats : undefined;
  }, timeoutMs);
}

/** The stack's own DuckDB file (the adapter waits for the other processes' lock between their writes). */
export async function withStackWarehouse<T>(stack: RunningStack, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = new DuckDBWarehouse({ path: String(stack.env.DUCKDB_PATH) });
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/**
 * A backfill's CLI output says every day was done, and daily_metrics holds exactly those days,
 * once each, equal to the reference computed from `csvFile` by code that shares nothing with ours.
 */
export async function assertBackfillExact(stack: RunningStack, csvFile: string, range: { from: string; to: string }, backfillOutput: string): Promise<number> {
  const reference = referenceKpis(csvFile, dayRange(range.from, range.to));
  assert.match(backfillOutput, new RegExp(`backfill ${range.from}\\.\\.${range.to}: ${reference.size}/${reference.size} days done, 0 failed`));
  const stored = await withStackWarehouse(stack, (wh) => wh.query<Record<string, string | number>>(
    `SELECT CAST(report_date AS STRING) AS d, orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold FROM daily_metrics
     WHERE report_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) ORDER BY d`, range));
  assert.deepEqual(stored.map((r) => r.d), [...reference.keys()].sort());
  for (const row of stored) {
    const ref = reference.get(String(row.d));
    assert.deepEqual({ orders: row.orders, gross_revenue: row.gross_revenue, refunds: row.refunds, cancelled_orders: row.cancelled_orders, unique_customers: row.unique_customers, items_sold: row.items_sold }, ref, String(row.d));
  }
  return reference.size;
}
