/**
 * Streaming benchmark: publish generated lines at a fixed rate through a fresh Pub/Sub emulator
 * into the consumer process (node dist/workers/consumer.js), then read orders_stream for
 * end-to-end throughput and publish-to-stored latency.
 *
 *   npx tsc -p . && node dist/bench/stream.js [--backend duckdb|bigquery] [--rate 6000] [--seconds 20] [--journal on|off]
 *
 * `--journal on` (the default) runs the emulator with its journal, as `npm start` does.
 *
 * The consumer's RSS is sampled every 5 s (a soak, issue 15: `--rate 5000 --seconds 200` is a
 * 1M-line stream; the RSS must stay bounded), and the stored lines are checked against the
 * published count exactly.
 *
 * Lines come from the seeded generator over a small built-in profile (no data load needed; the
 * message shape and size are the same as with the real profile). Results: docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bigqueryEmulatorSpec, pubsubEmulatorSpec } from '../lib/emulators';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import { freePort, Supervisor } from '../lib/process/supervisor';
import { generateLines, take } from '../lib/stream/generator';
import { handMadeProfile } from '../test/support/stream-profiles';
import { publishLines } from '../lib/stream/publisher';
import { ensureStreamTopology, DEFAULT_STREAM_NAMES } from '../lib/stream/topology';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { Warehouse } from '../lib/warehouse/types';
import { rssMb } from './proc';
import { emitResult } from './result';

const PROJECT = 'retailflow-bench';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

// Basket sizes near the real mean (~21 lines per invoice).
const PROFILE = handMadeProfile([7, 25, 1, 30]);

async function until(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const backend = arg('backend', 'duckdb') as 'duckdb' | 'bigquery';
  const rate = Number(arg('rate', '6000'));
  const seconds = Number(arg('seconds', '20'));
  const total = Math.round(rate * seconds);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-bench-stream-'));
  const supervisor = new Supervisor({ logDir: dir, stopGraceMs: 5_000 });
  let consumerPid: number | undefined;
  const rssDuring: number[] = [];
  process.env.METADATA_SERVER_DETECTION = 'none';
  try {
    const pubsubPort = await freePort();
    const journal = arg('journal', 'on') === 'on' ? path.join(dir, 'pubsub-journal') : undefined;
    await supervisor.start(pubsubEmulatorSpec('127.0.0.1', pubsubPort, process.env, journal));
    const pubsubHost = `127.0.0.1:${pubsubPort}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      PUBSUB_PROJECT_ID: PROJECT,
      WAREHOUSE: backend,
      DUCKDB_PATH: path.join(dir, 'warehouse.duckdb'),
      STREAM_HEALTH_PORT: String(await freePort()),
      STREAM_METRICS_PORT: String(await freePort()),
    };
    if (backend === 'bigquery') {
      const [port, grpc] = [await freePort(), await freePort()];
      await supervisor.start(bigqueryEmulatorSpec('127.0.0.1', port, grpc, { project: PROJECT }));
      Object.assign(env, { BIGQUERY_EMULATOR_HOST: `127.0.0.1:${port}`, BIGQUERY_PROJECT: PROJECT, BIGQUERY_DATASET: 'bench' });
    }
    const bus = createPubSubEventBus({ projectId: PROJECT, emulatorHost: pubsubHost });
    await ensureStreamTopology(bus, DEFAULT_STREAM_NAMES);
    // Spawned directly (not supervised) so it can be stopped while the emulators keep their data.
    const consumer = spawn(process.execPath, [path.resolve(__dirname, '..', 'workers', 'consumer.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    consumerPid = consumer.pid;
    const exited = new Promise<number | null>((resolve) => consumer.once('exit', (code) => resolve(code)));
    void exited.then(() => (consumerPid = undefined));
    const healthUrl = `http://127.0.0.1:${env.STREAM_HEALTH_PORT}/health`;
    await until('the consumer to be healthy', 60_000, async () => (await fetch(healthUrl).catch(() => undefined))?.status === 200);
    console.log(`backend ${backend}: publishing ${total} lines at ${rate}/s (consumer pid ${consumer.pid})`);
    const rssAtStart = rssMb(consumer.pid ?? 0);
    const sampling = setInterval(() => rssDuring.push(rssMb(consumer.pid ?? 0)), 5_000);
    const lines = take(generateLines(PROFILE, { seed: 1 }), total);
    const stats = await publishLines(bus, lines, { topic: DEFAULT_STREAM_NAMES.topic, source: 'bench', rate });
    await bus.close();
    console.log(`published ${stats.published} (failed ${stats.failed}) in ${stats.seconds.toFixed(1)} s = ${Math.round(stats.rate)}/s`);

    let lastPrint = 0;
    await until(`${stats.published} lines stored`, 300_000, async () => {
      const body = (await (await fetch(healthUrl)).json()) as { counts: { received: number; stored: number }; inFlight: number };
      if (Date.now() - lastPrint > 5_000) {
        lastPrint = Date.now();
        console.log(`  consumer: received ${body.counts.received}, stored ${body.counts.stored}, in flight ${body.inFlight}`);
      }
      return body.counts.stored >= stats.published;
    });
    clearInterval(sampling);
    const rssAtEnd = rssMb(consumer.pid ?? 0);
    consumer.kill('SIGTERM'); // drains and releases the warehouse
    if ((await exited) !== 0) throw new Error('the consumer did not stop cleanly');

    const wh: Warehouse =
      backend === 'duckdb'
        ? new DuckDBWarehouse({ path: String(env.DUCKDB_PATH) })
        : await (await import('../lib/warehouse/bigquery')).createBigQueryWarehouse({ projectId: PROJECT, dataset: 'bench', location: 'US', emulatorHost: env.BIGQUERY_EMULATOR_HOST });
    const rows = await wh.query<{ p: string; s: string }>('SELECT published_at AS p, stored_at AS s FROM orders_stream');
    const [{ ids }] = await wh.query<{ ids: number }>('SELECT COUNT(DISTINCT event_id) AS ids FROM orders_stream');
    await wh.close();
    const endToEnd = report(rows, stats.seconds);
    const exact = rows.length === stats.published && Number(ids) === stats.published;
    emitResult('stream', { ...endToEnd, published: stats.published, stored: rows.length, exact: exact ? 1 : 0 });
    console.log(`accounting: published ${stats.published}, stored ${rows.length}, distinct event ids ${ids}: ${exact ? 'exact' : 'NOT EXACT'}`);
    console.log(`consumer RSS MB: start ${rssAtStart.toFixed(0)}, max ${Math.max(rssAtStart, ...rssDuring).toFixed(0)}, end ${rssAtEnd.toFixed(0)}; every 5 s: ${rssDuring.map((m) => m.toFixed(0)).join(' ')}`);
    if (!exact) process.exitCode = 1;
  } finally {
    if (consumerPid !== undefined) process.kill(consumerPid, 'SIGKILL');
    await supervisor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(rows: { p: string; s: string }[], publishSeconds: number): { lines_per_s: number; latency_p99_ms: number } {
  const lat = rows.map((r) => Date.parse(r.s) - Date.parse(r.p)).sort((a, b) => a - b);
  const first = rows.reduce((m, r) => Math.min(m, Date.parse(r.p)), Infinity);
  const last = rows.reduce((m, r) => Math.max(m, Date.parse(r.s)), -Infinity);
  const span = (last - first) / 1000;
  console.log(`stored ${rows.length} lines; first publish -> last stored ${span.toFixed(1)} s = ${Math.round(rows.length / span)} lines/s end to end (publishing took ${publishSeconds.toFixed(1)} s)`);
  console.log(`publish -> stored latency ms: p50 ${percentile(lat, 50)}  p90 ${percentile(lat, 90)}  p99 ${percentile(lat, 99)}  max ${lat[lat.length - 1]}`);
  return { lines_per_s: rows.length / span, latency_p99_ms: percentile(lat, 99) };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
