/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against real data:
 * the first 20,000 lines of the data set (2010-12-01 .. 2010-12-09), a few hundred generated lines
 * through the real stream consumer, two models (gate promotion, manual promotion, rollback), and
 * the real daily analytics and data-quality workflows for every day on the root hook's Temporal
 * server with an in-process worker. Then the API app on a free loopback port and the page in it.
 *
 * Screenshots go to test-output/ (not committed).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildApp, type App } from '../api/app';
import { startDailyAnalytics, startDataQuality } from '../clients/per-day';
import { uiLink } from '../clients/connection';
import { datesWithData } from '../lib/analytics/daily';
import { formatPounds } from '../lib/analytics/money';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { addDays } from '../lib/dates';
import { loadOrdersFile } from '../lib/ingest/load';
import { promote, promoteIfBetter, registerModel, rollback } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { StreamConsumer } from '../lib/stream/consumer';
import { generateLines, loadProfile, take } from '../lib/stream/generator';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { services } from './hooks';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { fakeModel, smallForest } from './support/model-fixtures';
import { startTestWorker, type TestWorker } from './support/worker';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const OUT = path.join(PROJECT_ROOT, 'test-output');
const CHARTS = ['chart-trend', 'chart-countries', 'chart-products', 'chart-predictions', 'chart-quality', 'chart-models', 'chart-stream'];

// The little of the browser's API the page.evaluate callbacks use (the project compiles without the DOM library).
interface DomElement {
  querySelector(selector: string): DomElement | null;
  closest(selector: string): DomElement | null;
  scrollIntoView(options: { block: string }): void;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
}
interface Canvas extends DomElement {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface ChartInstance {
  getOption(): { series: unknown[]; xAxis: Array<{ data: string[] }>; yAxis: Array<{ data: string[] }> };
  convertToPixel(finder: object, value: number[]): number[];
}
interface BrowserGlobals {
  document: { querySelector(selector: string): DomElement | null };
  echarts: { getInstanceByDom(el: DomElement): ChartInstance | undefined };
  scrollX: number;
  scrollY: number;
}

/** Generated lines for the loaded week, their first 20 republished (duplicates) and 6 malformed messages. */
async function streamLines(wh: DuckDBWarehouse, count: number): Promise<void> {
  const consumer = new StreamConsumer({ warehouse: wh, deadLetter: async () => undefined, highValueThreshold: '100', log: () => undefined });
  // The generator's days are offsets from a Monday: 2010-12-06 .. 2010-12-12.
  const bodies = [...take(generateLines(await loadProfile(wh), { seed: 7, start: '2010-12-06' }), count)].map((l) => l.body);
  const payloads = [
    ...bodies.map((b) => JSON.stringify(b)),
    ...bodies.slice(0, 20).map((b) => JSON.stringify(b)),
    ...Array.from({ length: 6 }, (_, i) => (i % 2 ? '{"InvoiceNo": "5' : JSON.stringify({ ...bodies[i], event_id: `bad-${i}`, Quantity: 'six' }))),
  ];
  payloads.forEach((data, i) => consumer.push({ id: `dash-${i}`, data: Buffer.from(data), attributes: {}, publishTime: new Date(), ack: () => undefined, nack: () => undefined }));
  await consumer.drain();
}

describe('@integration dashboard in a browser', function () {
  this.timeout(300_000);
  const dataDir = tempDir('retailflow-dashboard-');
  const storeDir = path.join(dataDir, 'models');
  const config = loadConfig();
  let wh: DuckDBWarehouse;
  let worker: TestWorker | undefined;
  let app: App;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let days: string[];
  const consoleErrors: string[] = [];
  const failedRequests: string[] = [];

  before(async function () {
    this.timeout(300_000);
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (ensure_chromium)`);
    wh = new DuckDBWarehouse({ path: path.join(dataDir, 'warehouse.duckdb') });
    await loadOrdersFile(wh, writeCsv(realDataHead(20_001)));
    await streamLines(wh, 400);
    const store = new FileModelStore(storeDir);
    await registerModel(wh, store, fakeModel('rf-dash-a', 130, { artifact: await smallForest(1, 10), createdAt: new Date(Date.now() - 3 * 3_600_000) }));
    await registerModel(wh, store, fakeModel('rf-dash-b', 115, { artifact: await smallForest(2, 10), createdAt: new Date(Date.now() - 3_600_000) }));
    await promoteIfBetter(wh, 'rf-dash-a', { tolerance: 0 });
    await promote(wh, 'rf-dash-b', 'test: manual promotion');

    days = await datesWithData(wh, '2010-12-01', '2010-12-31');
    worker = await startTestWorker({ warehouse: wh, dataDir, name: 'dashboard', modelStoreDir: storeDir });
    const client = services().temporal.client;
    const runAll = (list: string[], start: (c: typeof client, queue: string, date: string) => Promise<{ result(): Promise<unknown> }>) =>
      Promise.all(list.map(async (d) => (await start(client, worker!.taskQueue, d)).result()));
    // The first half is scored by rf-dash-b, the rest after a rollback by rf-dash-a.
    const half = Math.ceil(days.length / 2);
    await runAll(days.slice(0, half), startDailyAnalytics);
    await rollback(wh);
    await runAll(days.slice(half), startDailyAnalytics);
    await runAll(days, startDataQuality);

    app = buildApp({
      config: { ...config, model: { ...config.model, storeDir } },
      logger: false,
      warehouse: wh,
      temporal: services().temporal.client,
      modelReloadIntervalMs: 0,
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);

    fs.mkdirSync(OUT, { recursive: true });
    context = await chromium.launchPersistentContext(tempDir('retailflow-chromium-'), {
      executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1440, height: 900 },
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (r) => failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
    });
  });

  after(async () => {
    await context?.close();
    await app?.close();
    await worker?.stop();
    await wh?.close();
  });

  const loads = async () => Number(await page.getAttribute('[data-testid="status"]', 'data-loads') ?? '0');
  /** Wait for a load that ends after `before` loads had ended, and check it read everything. */
  const loadedAfter = async (before: number) => {
    await page.waitForFunction(`Number(document.querySelector('[data-testid="status"]')?.getAttribute('data-loads') ?? 0) > ${before}`, undefined, { timeout: 30_000 });
    assert.equal(await page.getAttribute('[data-testid="status"]', 'data-loaded'), 'true', await page.textContent('[data-testid="status"]') ?? '');
  };
  const valueOf = (testId: string) => page.getAttribute(`[data-testid="${testId}"]`, 'data-value');
  const textOf = async (testId: string) => (await page.textContent(`[data-testid="${testId}"]`))?.trim();

  it('@integration loads the whole range with no console error and no failed request', async () => {
    // Fake timers from the start, so the auto-refresh test can move the clock.
    await page.clock.install();
    const response = await page.goto(`${base}/dashboard`);
    assert.equal(response?.status(), 200);
    await loadedAfter(0);
    // No refresh of its own while the next tests act on the page (the last test turns it on again).
    await page.uncheck('#auto-refresh');
    assert.equal(await page.inputValue('[data-testid="range-from"]'), days[0]);
    assert.equal(await page.inputValue('[data-testid="range-to"]'), days[days.length - 1]);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
    // The charts redraw when a full-page capture resizes the window: size it first, then capture.
    const height = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight);
    await page.setViewportSize({ width: 1440, height });
    await page.waitForTimeout(1_000);
    await page.screenshot({ path: path.join(OUT, 'dashboard.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('@integration shows the warehouse numbers: the range gross revenue, a day\'s orders, a country\'s revenue, the tiles', async () => {
    const [range] = await wh.query<{ gross: string; orders: number }>('SELECT SUM(gross_revenue) AS gross, SUM(orders) AS orders FROM daily_metrics');
    // The same total straight from the order lines (loaded and streamed), as the KPI rule counts them.
    const [lines] = await wh.query<{ gross: string }>(`SELECT SUM(quantity * unit_price) AS gross FROM order_lines
      WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0 AND invoice_date BETWEEN CAST(@a AS DATE) AND CAST(@b AS DATE)`, { a: days[0], b: days[days.length - 1] });
    assert.equal(range.gross, lines.gross);
    assert.equal(await valueOf('range-gross-revenue'), range.gross);
    assert.equal(await textOf('range-gross-revenue'), formatPounds(range.gross));
    assert.equal(await valueOf('range-orders'), String(range.orders));

    const day = '2010-12-06';
    const [d] = await wh.query<{ orders: number; workflow_id: string; stream_orders: number }>(
      'SELECT orders, workflow_id, stream_orders FROM daily_metrics WHERE report_date = CAST(@day AS DATE)', { day });
    assert.ok(d.stream_orders > 0, 'the generated lines reached the day');
    assert.equal(await valueOf(`day-orders-${day}`), String(d.orders));
    assert.equal(await textOf(`day-orders-${day}`), d.orders.toLocaleString('en-GB'));
    assert.equal(await page.getAttribute(`[data-testid="day-link-${day}"]`, 'href'), uiLink(config, d.workflow_id));
    const [dq] = await wh.query<{ workflow_id: string }>('SELECT MIN(workflow_id) AS workflow_id FROM dq_results WHERE check_date = CAST(@day AS DATE)', { day });
    assert.equal(await page.getAttribute(`[data-testid="day-dq-link-${day}"]`, 'href'), uiLink(config, dq.workflow_id));

    const [uk] = await wh.query<{ revenue: string }>("SELECT SUM(gross_revenue) AS revenue FROM daily_country_metrics WHERE country = 'United Kingdom'");
    assert.equal(await valueOf('country-revenue-United Kingdom'), uk.revenue);
    assert.equal(await textOf('country-revenue-United Kingdom'), formatPounds(uk.revenue));

    // Tiles: 2010 has no "today", so they count back from the newest day and say so.
    const newest = days[days.length - 1];
    assert.match(await textOf('tiles-note') ?? '', new RegExp(`newest day with data, ${newest}`));
    const [n] = await wh.query<{ orders: number }>('SELECT orders FROM daily_metrics WHERE report_date = CAST(@d AS DATE)', { d: newest });
    assert.equal(await valueOf('tile-anchor_day-orders'), String(n.orders));
    assert.equal(await page.getAttribute('[data-testid="tile-last_7"]', 'data-from'), addDays(newest, -6));
    assert.match(await page.textContent('[data-testid="tile-last_7"] [data-testid="share"]') ?? '', /^stream \d+\.\d% of orders/);
  });

  it('@integration draws every chart: an ECharts instance with series and a canvas with non-blank pixels', async () => {
    for (const id of CHARTS) {
      const drawn = await page.evaluate((testId) => {
        const g = globalThis as unknown as BrowserGlobals;
        const node = g.document.querySelector(`[data-testid="${testId}"]`);
        const instance = node ? g.echarts.getInstanceByDom(node) : undefined;
        const canvas = node?.querySelector('canvas') as Canvas | null | undefined;
        if (!instance || !canvas) return { series: 0, inked: 0 };
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] < 235 || data[i + 1] < 235 || data[i + 2] < 235)) inked++;
        return { series: instance.getOption().series.length, inked };
      }, id);
      assert.ok(drawn.series > 0, `${id} has series`);
      assert.ok(drawn.inked > 500, `${id} drew something (${drawn.inked} non-blank pixels)`);
    }
  });

  it('@integration clicking a data-quality cell opens that day\'s results', async () => {
    const [target] = await wh.query<{ d: string; check_name: string; source: string }>(`SELECT check_date AS d, check_name, source FROM dq_results
      ORDER BY CASE severity WHEN 'fail' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END, check_date DESC, check_name LIMIT 1`);
    const label = target.source === 'orders_raw' ? target.check_name : `${target.source}:${target.check_name}`;
    const point = await page.evaluate(({ date, check }) => {
      const g = globalThis as unknown as BrowserGlobals;
      const node = g.document.querySelector('[data-testid="chart-quality"]') as DomElement;
      const chart = g.echarts.getInstanceByDom(node) as ChartInstance;
      const option = chart.getOption();
      node.scrollIntoView({ block: 'center' });
      const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [option.xAxis[0].data.indexOf(date), option.yAxis[0].data.indexOf(check)]);
      const box = node.getBoundingClientRect();
      return { x: box.left + x, y: box.top + y };
    }, { date: target.d, check: label });
    await page.mouse.click(point.x, point.y);
    await page.waitForSelector(`[data-testid="dq-detail"][data-date="${target.d}"][data-state="ready"]`, { timeout: 10_000 });
    const shown = await page.$$eval('[data-testid="dq-result"]', (rows) => rows.map((r) => `${r.getAttribute('data-check')}=${r.getAttribute('data-severity')}`));
    const stored = await wh.query<{ check_name: string; source: string; severity: string }>(
      'SELECT check_name, source, severity FROM dq_results WHERE check_date = CAST(@d AS DATE)', { d: target.d });
    assert.deepEqual(shown.sort(), stored.map((r) => `${r.source === 'orders_raw' ? r.check_name : `${r.source}:${r.check_name}`}=${r.severity}`).sort());
    assert.match(await textOf('dq-detail-title') ?? '', new RegExp(`Data quality on ${target.d}`));
    assert.equal(await page.getAttribute('[data-testid="dq-detail-run"]', 'href'), uiLink(config, `data-quality-${target.d}`));
    // The card in page coordinates, from a full-page capture: the sticky header stays at the top, off the card.
    const card = await page.evaluate(() => {
      const g = globalThis as unknown as BrowserGlobals;
      const box = (g.document.querySelector('[data-testid="chart-quality"]')?.closest('section') as DomElement).getBoundingClientRect();
      return { x: box.left + g.scrollX, y: box.top + g.scrollY, width: box.width, height: box.height };
    });
    await page.screenshot({ path: path.join(OUT, 'dashboard-dq-detail.png'), fullPage: true, clip: card });
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
  });

  it('@integration the range picker narrows every panel to the days chosen', async () => {
    const day = '2010-12-02';
    await page.fill('[data-testid="range-from"]', day);
    await page.fill('[data-testid="range-to"]', day);
    let before = await loads();
    await page.click('[data-testid="range-apply"]');
    await loadedAfter(before);
    const [d] = await wh.query<{ gross: string }>('SELECT gross_revenue AS gross FROM daily_metrics WHERE report_date = CAST(@day AS DATE)', { day });
    assert.equal(await valueOf('range-gross-revenue'), d.gross);
    assert.equal(await page.$$eval('[data-testid="days-table"] tbody tr', (rows) => rows.length), 1);
    before = await loads();
    await page.click('[data-testid="range-all"]');
    await loadedAfter(before);
    assert.equal(await page.$$eval('[data-testid="days-table"] tbody tr', (rows) => rows.length), days.length);
  });

  it('@integration an empty warehouse: every panel says so, no console error, no failed request', async () => {
    const empty = new DuckDBWarehouse({ path: ':memory:' });
    const emptyApp = buildApp({ config: { ...config, model: { ...config.model, storeDir: tempDir() } }, logger: false, warehouse: empty, temporal: services().temporal.client, modelReloadIntervalMs: 0 });
    const emptyPage = await context.newPage();
    const problems: string[] = [];
    emptyPage.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    emptyPage.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    emptyPage.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.url()}: ${r.status()}`);
    });
    try {
      await emptyPage.goto(`${await emptyApp.listen({ host: '127.0.0.1', port: 0 })}/dashboard`);
      await emptyPage.waitForSelector('[data-testid="status"][data-loaded="true"]', { timeout: 30_000 });
      assert.match(await emptyPage.textContent('[data-testid="tiles-note"]') ?? '', /No analysed day yet/);
      assert.equal(await emptyPage.getAttribute('[data-testid="range-gross-revenue"]', 'data-value'), '0');
      assert.match(await emptyPage.textContent('[data-testid="days-table"]') ?? '', /nothing in this range/);
      assert.deepEqual(problems, []);
    } finally {
      await emptyPage.close();
      await emptyApp.close();
      await empty.close();
    }
  });

  it('@integration behind production security (API key, helmet CSP): with the key every chart draws, no CSP violation; without it, 401', async () => {
    const key = 'dashboard-test-key-0123456789';
    const security = { ...config.api.security, auth: true, keysInline: key, securityHeaders: true, rateLimitMax: 1_000 };
    const secureApp = buildApp({ config: { ...config, api: { ...config.api, security }, model: { ...config.model, storeDir } }, logger: false, warehouse: wh, temporal: services().temporal.client, modelReloadIntervalMs: 0 });
    const securePage = await context.newPage();
    const problems: string[] = [];
    securePage.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    securePage.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    try {
      const url = `${await secureApp.listen({ host: '127.0.0.1', port: 0 })}/dashboard`;
      // (Chromium itself would show its Basic prompt; headless, it aborts the navigation instead.)
      assert.equal((await securePage.request.get(url)).status(), 401);
      // What a browser sends after its Basic prompt is answered, on the page and on every fetch.
      await securePage.setExtraHTTPHeaders({ authorization: `Basic ${Buffer.from(`analyst:${key}`).toString('base64')}` });
      problems.length = 0;
      const response = await securePage.goto(url);
      assert.equal(response?.status(), 200);
      assert.match(String(response?.headers()['content-security-policy']), /script-src 'self'/);
      await securePage.waitForSelector('[data-testid="status"][data-loaded="true"]', { timeout: 30_000 });
      for (const id of CHARTS) {
        const series = await securePage.evaluate((testId) => {
          const g = globalThis as unknown as BrowserGlobals;
          const node = g.document.querySelector(`[data-testid="${testId}"]`);
          return node ? (g.echarts.getInstanceByDom(node)?.getOption().series.length ?? 0) : 0;
        }, id);
        assert.ok(series > 0, `${id} has series under the CSP`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await securePage.close();
      await secureApp.close();
    }
  });

  it('@integration refreshes on its own every 30 s', async () => {
    await page.check('#auto-refresh');
    const before = await loads();
    await page.clock.fastForward(30_000);
    await loadedAfter(before);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(failedRequests, []);
  });
});
