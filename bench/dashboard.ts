/**
 * Benchmark: the dashboard's data for the whole year. Builds (once, cached in --dir) a DuckDB
 * warehouse with everything the dashboard reads, computed by the same lib code the workflows run:
 * the full data set loaded, 2,000 generated stream lines (plus duplicates and malformed messages)
 * through the real consumer, daily analytics and data-quality results for every day, two model
 * versions (gate promotion, manual promotion, rollback) and predicted vs actual for every day.
 * Then it serves the API (buildApp, warehouse opened per request burst as the API does) on a free
 * loopback port and times what the page requests on a load: its eight /api/v1 requests at once,
 * over the default range (all 305 days).
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/dashboard.js [--dir DIR] [--runs 10] [--browser] [--screenshot PNG]
 *
 * Goal (issue 13): the whole year loads in under 1 s. --browser also times the page itself in
 * Debian's chromium, from navigation to every panel drawn.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../api/app';
import { computeDailyReport, datesWithData, storeDailyReport } from '../lib/analytics/daily';
import { createPredictionScorer } from '../lib/analytics/predictions';
import { loadConfig } from '../lib/config';
import { loadOrdersFile } from '../lib/ingest/load';
import { extractTrainingSet } from '../lib/model/features';
import { trainForest } from '../lib/model/forest';
import { promote, promoteIfBetter, registerModel, rollback } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { runDayChecks } from '../lib/quality/checks';
import { storeDqResults } from '../lib/quality/results';
import { loadThresholds } from '../lib/quality/thresholds';
import { StreamConsumer } from '../lib/stream/consumer';
import { generateLines, loadProfile, take } from '../lib/stream/generator';
import { dailyAnalyticsWorkflowId, dataQualityWorkflowId } from '../lib/temporal/contract';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { toPalettePng } from '../scripts/png-palette';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

const DIR = path.resolve(option('--dir', path.join(os.tmpdir(), 'retailflow-dashboard-bench')));
const RUNS = Number(option('--runs', '10'));
const DB = path.join(DIR, 'warehouse.duckdb');
const STORE = path.join(DIR, 'models');
const FIRST = '2010-12-01';
const LAST = '2011-12-09';

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** 2,000 generated lines in the data's last fortnight, 60 duplicates and 12 malformed messages. */
async function streamSome(wh: DuckDBWarehouse): Promise<void> {
  const profile = await loadProfile(wh);
  const consumer = new StreamConsumer({ warehouse: wh, deadLetter: async () => undefined, highValueThreshold: '300', log: () => undefined });
  const bodies = [...take(generateLines(profile, { seed: 13, start: '2011-11-28' }), 2_000)].map((l) => l.body);
  const messages = [
    ...bodies.map((b) => JSON.stringify(b)),
    ...bodies.slice(0, 60).map((b) => JSON.stringify(b)),
    ...Array.from({ length: 12 }, (_, i) => (i % 2 ? '{"InvoiceNo": "5' : JSON.stringify({ ...bodies[i], event_id: `bad-${i}`, Quantity: 'six' }))),
  ];
  messages.forEach((data, i) => consumer.push({
    id: `bench-${i}`, data: Buffer.from(data), attributes: {}, publishTime: new Date(), ack: () => undefined, nack: () => undefined,
  }));
  await consumer.drain();
}

async function buildWarehouse(): Promise<void> {
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });
  const config = loadConfig();
  const wh = new DuckDBWarehouse({ path: DB });
  let t0 = performance.now();
  await loadOrdersFile(wh, config.dataCsv);
  console.log(`loaded ${config.dataCsv} in ${seconds(t0)}`);
  t0 = performance.now();
  await streamSome(wh);
  console.log(`streamed 2,072 messages through the consumer in ${seconds(t0)}`);

  t0 = performance.now();
  const store = new FileModelStore(STORE);
  const train = await extractTrainingSet(wh, { split: 'train', boundary: '2011-11-01' });
  const test = await extractTrainingSet(wh, { split: 'test', boundary: '2011-11-01' });
  const zero = { mae: 0, mse: 0 };
  const data = { trainFrom: FIRST, trainTo: '2011-10-31', testFrom: '2011-11-01', testTo: LAST, trainRows: train.rows, testRows: test.rows };
  const versions: string[] = [];
  for (const [i, nTrees] of [10, 30].entries()) {
    const model = await trainForest(train, { nTrees, minSamplesLeaf: 12, seed: i });
    const predicted = model.predictMany(test.features, test.rows);
    let abs = 0;
    let sq = 0;
    for (let r = 0; r < test.rows; r++) {
      abs += Math.abs(predicted[r] - test.target[r]);
      sq += (predicted[r] - test.target[r]) ** 2;
    }
    const version = `rf-bench-${nTrees}-trees`;
    await registerModel(wh, store, {
      version, params: { nTrees, minSamplesLeaf: 12, seed: i }, featureNames: train.featureNames, data,
      metrics: { mae: abs / test.rows, mse: sq / test.rows, r2: 0 }, baselines: { lineRevenue: zero, trainMean: zero }, artifact: model.toBuffer(),
      createdAt: new Date(Date.now() - (2 - i) * 3_600_000),
    });
    versions.push(version);
  }
  await promoteIfBetter(wh, versions[0], { tolerance: 0 });
  await promote(wh, versions[1], 'bench: manual promotion');
  console.log(`trained and registered ${versions.join(', ')} in ${seconds(t0)}`);

  const days = await datesWithData(wh, FIRST, LAST);
  const scorer = createPredictionScorer(wh, store);
  const thresholds = loadThresholds(config.quality.thresholdsFile);
  t0 = performance.now();
  // The later half is scored after a rollback: two model versions show on the predictions panel.
  const half = Math.floor(days.length / 2);
  for (const [part, list] of [days.slice(0, half), days.slice(half)].entries()) {
    if (part === 1) await rollback(wh);
    await pool(list, 2, async (date) => {
      await storeDailyReport(wh, await computeDailyReport(wh, date), dailyAnalyticsWorkflowId(date));
      await scorer.scoreDay(date);
    });
  }
  console.log(`daily analytics and predictions for ${days.length} days in ${seconds(t0)}`);
  t0 = performance.now();
  await pool(days, 2, async (date) => {
    await storeDqResults(wh, { date, results: await runDayChecks(wh, date, thresholds) }, dataQualityWorkflowId(date));
  });
  console.log(`data-quality checks for ${days.length} days in ${seconds(t0)}`);
  await wh.close();
  fs.writeFileSync(path.join(DIR, 'READY'), `${days.length}\n`);
}

/** What the page asks for on a load of the whole range (api/dashboard/app.js): eight requests at once, no dates. */
const PAGE_REQUESTS = ['/api/v1/range', '/api/v1/kpis', '/api/v1/countries', '/api/v1/products?limit=10', '/api/v1/predictions',
  '/api/v1/quality', '/api/v1/models', '/api/v1/stream?limit=15'];

async function timeLoad(base: string): Promise<{ total: number; cpu: number; each: Record<string, number>; bytes: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const each: Record<string, number> = {};
  let bytes = 0;
  await Promise.all(PAGE_REQUESTS.map(async (url) => {
    const t = performance.now();
    const res = await fetch(base + url);
    const text = await res.text();
    if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
    each[url.split('?')[0]] = performance.now() - t;
    bytes += text.length;
  }));
  const cpu = process.cpuUsage(cpu0);
  // This process is the server too: its CPU time (DuckDB's threads included) is the load's cost
  // whatever else the machine runs; the wall time is what a user waits.
  return { total: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000, each, bytes };
}

function summary(label: string, runs: Array<Awaited<ReturnType<typeof timeLoad>>>): void {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rest = runs.slice(1);
  console.log(`  ${label}:`);
  console.log(`    first load ${runs[0].total.toFixed(0)} ms (CPU ${runs[0].cpu.toFixed(0)} ms); the next ${rest.length}: median ${mid(rest.map((r) => r.total)).toFixed(0)} ms, ` +
    `min ${Math.min(...rest.map((r) => r.total)).toFixed(0)} ms, max ${Math.max(...rest.map((r) => r.total)).toFixed(0)} ms, median CPU ${mid(rest.map((r) => r.cpu)).toFixed(0)} ms`);
  const last = runs[runs.length - 1].each;
  console.log(`    per endpoint (last load): ${Object.entries(last).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')} ms`);
}

async function main(): Promise<void> {
  if (flag('--rebuild') || !fs.existsSync(path.join(DIR, 'READY'))) await buildWarehouse();
  else console.log(`reusing the warehouse in ${DIR} (--rebuild to build it again)`);
  const config = loadConfig();
  // As the API opens it (api/plugins/warehouse.ts): the file is released as soon as a burst ends.
  const wh = new DuckDBWarehouse({ path: DB, idleCloseMs: 0 });
  const serve = (dashboardCache: { maxAgeMs?: number }) => buildApp({
    config: { ...config, model: { ...config.model, storeDir: STORE } }, logger: { level: 'error' }, warehouse: wh, modelReloadIntervalMs: 0, dashboardCache,
  });
  console.log(`\nwhole year (${FIRST}..${LAST}), the page's 8 requests at once, ${RUNS} loads each (load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores):`);
  try {
    // Every answer computed: the first load of a fresh process, then what a load costs after the data changed.
    const computed = serve({ maxAgeMs: 0 });
    const a = await computed.listen({ host: '127.0.0.1', port: 0 });
    const runs: Array<Awaited<ReturnType<typeof timeLoad>>> = [];
    for (let i = 0; i < RUNS; i++) runs.push(await timeLoad(a));
    console.log(`  ${(runs[0].bytes / 1024).toFixed(0)} KiB of JSON a load`);
    summary('computed every time (cache off)', runs);
    await computed.close();
    // The default: a load while nothing changed (auto-refresh, another viewer) is answered from the cache.
    const cached = serve({});
    const b = await cached.listen({ host: '127.0.0.1', port: 0 });
    const hits: Array<Awaited<ReturnType<typeof timeLoad>>> = [];
    for (let i = 0; i < RUNS; i++) {
      hits.push(await timeLoad(b));
      await new Promise((r) => setTimeout(r, 1_100)); // past the version probe's interval: each load reads the version again
    }
    summary('with the cache (first load computes, the rest find the data unchanged)', hits);
    if (flag('--browser')) await timeBrowser(`${b}/dashboard`);
    await cached.close();
  } finally {
    await wh.close();
  }
}

async function timeBrowser(url: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-bench-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  try {
    const page = await context.newPage();
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await page.goto(url);
      await page.waitForSelector('[data-testid="status"][data-loaded="true"]', { timeout: 30_000 });
      const inPage = await page.getAttribute('[data-testid="status"]', 'data-load-ms');
      const timings = await page.evaluate(() => (globalThis as unknown as { retailflowDashboard: { state: { timings: Record<string, number> } } }).retailflowDashboard.state.timings);
      console.log(`  browser load ${i + 1}: ${(performance.now() - t0).toFixed(0)} ms from navigation to every panel drawn (page's own data load ${inPage} ms: ${JSON.stringify(timings)})`);
    }
    const shot = option('--screenshot', '');
    if (shot) {
      // The whole page in the viewport first: a full-page capture resizes the window, and the charts
      // redraw on resize, so give them the final size and a moment before the capture.
      const height = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight);
      await page.setViewportSize({ width: 1440, height });
      await page.waitForTimeout(2_000);
      // A 256-colour palette PNG: the docs' copy stays small (docs/images/dashboard.png).
      fs.writeFileSync(shot, toPalettePng(await page.screenshot({ fullPage: true })));
      console.log(`  full-page screenshot: ${shot} (${(fs.statSync(shot).size / 1024).toFixed(0)} KiB)`);
    }
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
