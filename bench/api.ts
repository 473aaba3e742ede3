/**
 * Benchmark: the prediction API as users call it. Trains the default forest on the real training
 * split, promotes it, starts `node dist/api/server.js` on a free loopback port, then loads it with
 * autocannon from this process.
 *
 *   npx tsc -p . && node dist/bench/api.js [--seconds 10] [--connections 50] [--soak 60]
 *
 * --soak N (issue 15, soak): after a 5 s warm-up, N seconds of single predictions, the server's
 * RSS (/proc/<pid>/status) sampled every 5 s; "flat" is what must hold.
 *
 * Goals (issue: revenue model): >= 10,000 single predictions/s at 50 connections with p99 <= 10 ms,
 * and >= 200,000 rows/s through /predict/batch.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { loadOrdersFile } from '../lib/ingest/load';
import { extractTrainingSet } from '../lib/model/features';
import { trainForest } from '../lib/model/forest';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { freePort } from '../lib/process/supervisor';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { rssMb } from './proc';
import { emitResult } from './result';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

type BatchItem = { Quantity: number; UnitPrice: number; Hour: number; DayOfWeek: number; Country: string; CustomerID: number | null };

/** Trains and promotes the default model; returns the first 10,000 holdout lines as /predict/batch items. */
async function promotedModel(dir: string): Promise<BatchItem[]> {
  const wh = new DuckDBWarehouse({ path: path.join(dir, 'bench.duckdb') });
  await loadOrdersFile(wh, loadConfig().dataCsv);
  const train = await extractTrainingSet(wh, { split: 'train', boundary: '2011-11-01' });
  const t0 = performance.now();
  const model = await trainForest(train, { nTrees: 100, minSamplesLeaf: 12, seed: 0 });
  console.log(`trained on ${train.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const store = new FileModelStore(path.join(dir, 'models'));
  const data = { trainFrom: '2010-12-01', trainTo: '2011-10-31', testFrom: '2011-11-01', testTo: '2011-12-09', trainRows: train.rows, testRows: 0 };
  const zero = { mae: 0, mse: 0 };
  await registerModel(wh, store, {
    version: 'rf-bench', params: { nTrees: 100, minSamplesLeaf: 12, seed: 0 }, featureNames: train.featureNames, data,
    metrics: { mse: 0, mae: 0, r2: 0 }, baselines: { lineRevenue: zero, trainMean: zero }, artifact: model.toBuffer(),
  });
  await promote(wh, 'rf-bench');
  const test = await extractTrainingSet(wh, { split: 'test', boundary: '2011-11-01' });
  await wh.close();
  const col = (name: string): number => test.featureNames.indexOf(name);
  const value = (i: number, name: string): number => test.features[i * test.featureNames.length + col(name)];
  return Array.from({ length: Math.min(10_000, test.rows) }, (_, i) => ({
    Quantity: value(i, 'quantity'), UnitPrice: value(i, 'unit_price'), Hour: value(i, 'hour'), DayOfWeek: value(i, 'day_of_week'),
    Country: value(i, 'is_uk') === 1 ? 'United Kingdom' : 'Germany', CustomerID: value(i, 'customer_known') === 1 ? 17850 : null,
  }));
}

async function soak(url: string, body: string, pid: number, connections: number, seconds: number): Promise<void> {
  await load(url, body, connections, 5);
  const samples = [rssMb(pid)];
  const sampler = setInterval(() => samples.push(rssMb(pid)), 5_000);
  let result: autocannon.Result;
  try {
    result = await load(url, body, connections, seconds);
  } finally {
    clearInterval(sampler);
  }
  samples.push(rssMb(pid));
  const [start, end] = [samples[0], samples[samples.length - 1]];
  console.log(`soak: ${seconds} s at ${connections} connections, ${Math.round(result.requests.average)} req/s, errors ${result.errors}, non-2xx ${result.non2xx}; ` +
    `server RSS start ${start.toFixed(0)} MB, end ${end.toFixed(0)} MB (${(end - start >= 0 ? '+' : '')}${(end - start).toFixed(1)}), max ${Math.max(...samples).toFixed(0)} MB; samples ${samples.map((m) => m.toFixed(0)).join(' ')}`);
}

function load(url: string, body: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds });
}

async function main(): Promise<void> {
  const seconds = arg('--seconds', 10);
  const connections = arg('--connections', 50);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-api-bench-'));
  const items = await promotedModel(dir);
  const port = await freePort();
  const server = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'api', 'server.js')], {
    env: {
      ...process.env, API_HOST: '127.0.0.1', API_PORT: String(port), DUCKDB_PATH: path.join(dir, 'bench.duckdb'),
      MODEL_STORE_DIR: path.join(dir, 'models'), LOG_LEVEL: 'warn', TEMPORAL_ADDRESS: '127.0.0.1:1', RETAILFLOW_ENV: 'local',
    },
    stdio: 'inherit',
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/models/current`).catch(() => undefined);
      if (res?.ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const single = await load(`${base}/predict`, JSON.stringify({ Quantity: 3, UnitPrice: 12.0, Hour: 10, DayOfWeek: 2 }), connections, seconds);
    console.log(`single: ${Math.round(single.requests.average)} req/s at ${connections} connections, latency p50 ${single.latency.p50} ms, p99 ${single.latency.p99} ms, errors ${single.errors}, non-2xx ${single.non2xx}`);
    const batch = await load(`${base}/predict/batch`, JSON.stringify({ items }), 4, seconds);
    console.log(`batch: ${Math.round(batch.requests.average * items.length)} rows/s (${batch.requests.average.toFixed(1)} req/s of ${items.length} holdout rows), p99 ${batch.latency.p99} ms, non-2xx ${batch.non2xx}`);
    emitResult('api', { predict_rps: single.requests.average, predict_p99_ms: single.latency.p99, predict_errors: single.errors + single.non2xx, batch_rows_per_s: batch.requests.average * items.length });
    const soakSeconds = arg('--soak', 0);
    if (soakSeconds > 0 && server.pid) await soak(`${base}/predict`, JSON.stringify({ Quantity: 3, UnitPrice: 12.0, Hour: 10, DayOfWeek: 2 }), server.pid, connections, soakSeconds);
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}`);
  } finally {
    server.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
