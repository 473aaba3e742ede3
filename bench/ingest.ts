/**
 * Benchmark: load the full Online Retail CSV into a fresh DuckDB file.
 * Usage: node dist/bench/ingest.js [--file PATH] [--runs N]
 * Prints wall time, rows/s and peak RSS per run; the goal is <= 5 s on the 2-core machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { loadOrdersFile } from '../lib/ingest/load';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { emitResult } from './result';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function oneRun(file: string): Promise<{ ms: number; rows: number; quarantined: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-bench-'));
  const wh = new DuckDBWarehouse({ path: path.join(dir, 'bench.duckdb') });
  try {
    const t0 = process.hrtime.bigint();
    const res = await loadOrdersFile(wh, file);
    await wh.close(); // include the checkpoint to disk in the measurement
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, rows: res.rowsLoaded, quarantined: res.rowsQuarantined };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const file = arg('--file', loadConfig().dataCsv);
  const runs = Number(arg('--runs', '3'));
  console.log(`ingest benchmark: ${file}, ${runs} runs, ${os.cpus().length} cores, node ${process.version}`);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(file);
    times.push(r.ms);
    const rss = process.memoryUsage().rss / 2 ** 20;
    console.log(`run ${i + 1}: ${(r.ms / 1000).toFixed(2)} s, ${r.rows} rows (${Math.round(r.rows / (r.ms / 1000))} rows/s), ${r.quarantined} quarantined, rss ${rss.toFixed(0)} MiB`);
  }
  times.sort((a, b) => a - b);
  console.log(`median ${(times[Math.floor(times.length / 2)] / 1000).toFixed(2)} s, best ${(times[0] / 1000).toFixed(2)} s`);
  emitResult('ingest', { median_s: times[Math.floor(times.length / 2)] / 1000, best_s: times[0] / 1000 });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
