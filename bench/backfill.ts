/**
 * Benchmark: the full-year daily-analytics backfill (305 days) and single-day workflow latency
 * on the embedded stack: Temporal dev server (in memory), Pub/Sub emulator, DuckDB, one worker.
 *
 *   node dist/bench/backfill.js [--concurrency 32] [--singles 30]
 *
 * Goal (issue: daily analytics): the whole year in 20 s or less on the 2-core machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { startBackfill } from '../clients/backfill';
import { startDailyAnalytics } from '../clients/per-day';
import { loadConfig } from '../lib/config';
import { pubsubEmulatorSpec } from '../lib/emulators';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import { loadOrdersFile } from '../lib/ingest/load';
import { freePort, Supervisor } from '../lib/process/supervisor';
import { SEARCH_ATTRIBUTE_KEYS } from '../lib/temporal/search-attributes';
import { toolPath } from '../lib/tools';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { emitResult } from './result';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const concurrency = arg('--concurrency', 32);
  const singles = arg('--singles', 30);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-bench-'));
  const supervisor = new Supervisor({ logDir: dir });
  const pubsubPort = await freePort();
  await supervisor.start(pubsubEmulatorSpec('127.0.0.1', pubsubPort));
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: toolPath('temporal') }, ip: '127.0.0.1', searchAttributes: SEARCH_ATTRIBUTE_KEYS, extraArgs: ['--log-level', 'error'] },
  });
  const wh = new DuckDBWarehouse({ path: path.join(dir, 'bench.duckdb') });
  const eventBus = createPubSubEventBus({ projectId: 'retailflow-bench', emulatorHost: `127.0.0.1:${pubsubPort}` });
  try {
    await loadOrdersFile(wh, loadConfig().dataCsv);
    const taskQueue = 'bench';
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('ERROR') }),
      activities: createActivities({ warehouse: wh, config: { ...loadConfig(), dataDir: dir }, eventBus }),
      maxConcurrentActivityTaskExecutions: 64,
      maxConcurrentWorkflowTaskExecutions: 64,
    });
    await worker.runUntil(async () => {
      const latencies: number[] = [];
      for (let i = 0; i < singles; i++) {
        const date = `2011-11-${String(1 + (i % 28)).padStart(2, '0')}`;
        const t = performance.now();
        await (await startDailyAnalytics(env.client, taskQueue, date)).result().catch(() => undefined);
        latencies.push(performance.now() - t);
      }
      console.log(`single-day workflow latency over ${singles} runs: p50 ${percentile(latencies, 50).toFixed(0)} ms, p90 ${percentile(latencies, 90).toFixed(0)} ms`);
      const t0 = performance.now();
      const result = await (await startBackfill(env.client, taskQueue, { from: '2010-12-01', to: '2011-12-09', concurrency })).result();
      const secs = (performance.now() - t0) / 1000;
      console.log(`full backfill: ${result.done}/${result.total} days (${result.failed} failed) in ${secs.toFixed(1)} s at concurrency ${concurrency} (${(result.total / secs).toFixed(1)} days/s)`);
      const [sum] = await wh.query<{ orders: number }>('SELECT SUM(orders) AS orders FROM daily_metrics');
      emitResult('backfill', { backfill_s: secs, days_done: result.done, days_failed: result.failed, day_p50_ms: percentile(latencies, 50), day_p90_ms: percentile(latencies, 90) });
      console.log(`stored daily_metrics: ${sum.orders} orders; rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; ${os.cpus().length} cores`);
    });
  } finally {
    await eventBus.close();
    await wh.close();
    await env.teardown();
    await supervisor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
