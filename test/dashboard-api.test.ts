/**
 * The dashboard's JSON endpoints (/api/v1/*) and static page through `inject()`, no servers: an
 * in-memory DuckDB with two real days (the first 4,000 lines of the data set), analysed and checked
 * by the lib code the workflows run, two registered models and two scored days. Expected numbers
 * come from SQL on orders_raw here, not from the dashboard's queries.
 */
import { strict as assert } from 'node:assert';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { buildApp, type App } from '../api/app';
import * as S from '../api/schemas/dashboard';
import { DashboardCache } from '../lib/dashboard/cache';
import { computeDailyReport, storeDailyReport } from '../lib/analytics/daily';
import { createPredictionScorer } from '../lib/analytics/predictions';
import { loadConfig } from '../lib/config';
import { loadOrdersFile } from '../lib/ingest/load';
import { promote, promoteIfBetter, registerModel, rollback } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { runDayChecks } from '../lib/quality/checks';
import { storeDqResults } from '../lib/quality/results';
import { loadThresholds } from '../lib/quality/thresholds';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { fakeTemporal } from './support/fakes';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { fakeModel, smallForest } from './support/model-fixtures';

const D1 = '2010-12-01';
const D2 = '2010-12-02';

describe('dashboard API (/api/v1)', function () {
  this.timeout(60_000);
  let wh: DuckDBWarehouse;
  let app: App;
  const config = loadConfig();

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await loadOrdersFile(wh, writeCsv(realDataHead(4_001)));
    const dir = tempDir();
    const store = new FileModelStore(dir);
    await registerModel(wh, store, fakeModel('rf-a', 120, { artifact: await smallForest(1, 10) }));
    await registerModel(wh, store, fakeModel('rf-b', 110, { artifact: await smallForest(2, 10) }));
    await promoteIfBetter(wh, 'rf-a', { tolerance: 0 });
    await promote(wh, 'rf-b');
    const scorer = createPredictionScorer(wh, store);
    const thresholds = loadThresholds(config.quality.thresholdsFile);
    for (const date of [D1, D2]) {
      await storeDailyReport(wh, await computeDailyReport(wh, date), `daily-analytics-${date}`);
      await storeDqResults(wh, { date, results: await runDayChecks(wh, date, thresholds) }, `data-quality-${date}`);
      await scorer.scoreDay(date);
      if (date === D1) await rollback(wh); // D2 is scored by rf-a
    }
    app = buildApp({ config: { ...config, model: { ...config.model, storeDir: dir } }, logger: false, warehouse: wh, temporal: fakeTemporal(), modelReloadIntervalMs: 0 });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await wh?.close();
  });

  const get = (url: string) => app.inject({ method: 'GET', url });
  async function ok<T extends TSchema>(url: string, schema: T): Promise<Static<T>> {
    const response = await get(url);
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    const body: unknown = response.json();
    const errors = [...Value.Errors(schema, body)].slice(0, 3).map((e) => `${e.path}: ${e.message}`);
    assert.deepEqual(errors, [], `${url} matches its response schema`);
    return body as Static<T>;
  }
  async function bad(url: string, field: RegExp): Promise<void> {
    const response = await get(url);
    assert.equal(response.statusCode, 400, `${url}: ${response.statusCode} ${response.body}`);
    assert.match(response.json<{ message: string }>().message, field, url);
  }

  const RANGED = ['/api/v1/kpis', '/api/v1/countries', '/api/v1/products', '/api/v1/predictions', '/api/v1/quality'];

  for (const endpoint of RANGED) {
    it(`${endpoint}: 400 naming the field for a non-date, an impossible date, from > to and an unknown field`, async () => {
      await bad(`${endpoint}?from=yesterday`, /querystring\.from .*pattern/);
      await bad(`${endpoint}?to=2011-1-5`, /querystring\.to .*pattern/);
      await bad(`${endpoint}?from=2011-02-30&to=2011-03-01`, /querystring\.from must be a calendar date YYYY-MM-DD, got "2011-02-30"/);
      await bad(`${endpoint}?from=2011-01-01&to=2011-13-01`, /querystring\.to must be a calendar date/);
      await bad(`${endpoint}?to=2011-02-29`, /querystring\.to must be a calendar date/);
      await bad(`${endpoint}?from=2011-03-02&to=2011-03-01`, /querystring\.from \(2011-03-02\) is after querystring\.to \(2011-03-01\)/);
      await bad(`${endpoint}?from=2011-01-01&since=2011-01-01`, /querystring has an unknown field "since"/);
    });
  }

  it('/api/v1/products and /api/v1/stream: 400 for a limit outside 1-100', async () => {
    await bad('/api/v1/products?limit=0', /querystring\.limit must be an integer from 1 to 100/);
    await bad('/api/v1/products?limit=101', /querystring\.limit/);
    await bad('/api/v1/products?limit=ten', /querystring\.limit .*pattern/);
    await bad('/api/v1/stream?limit=0', /querystring\.limit/);
    await bad('/api/v1/stream?limit=-1', /querystring\.limit/);
  });

  it('/api/v1/quality/:date: 400 for a bad day, 404 for a day never checked', async () => {
    await bad('/api/v1/quality/2011-02-30', /params\.date must be a calendar date/);
    await bad('/api/v1/quality/not-a-day', /params\.date .*pattern/);
    const missing = await get('/api/v1/quality/2011-06-15');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /no data-quality results for 2011-06-15/);
  });

  it('/api/v1/range: the analysed days and the Web UI base', async () => {
    const body = await ok('/api/v1/range', S.RangeResponse);
    assert.deepEqual({ first: body.first, last: body.last, days: body.days }, { first: D1, last: D2, days: 2 });
    assert.equal(body.temporal_ui, `http://${config.temporal.uiHost}:${config.temporal.uiPort}`);
    assert.match(body.today, /^\d{4}-\d{2}-\d{2}$/);
  });

  it('/api/v1/kpis: days, exact totals and tiles anchored on the newest day', async () => {
    const body = await ok('/api/v1/kpis', S.KpisResponse);
    const [ref] = await wh.query<{ gross: string; orders: number; customers: number }>(`
      SELECT SUM(quantity * unit_price) AS gross, COUNT(DISTINCT invoice_no) AS orders, COUNT(DISTINCT customer_id) AS customers
      FROM orders_raw WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0`);
    assert.deepEqual(body.range, { from: D1, to: D2 });
    assert.equal(body.totals.gross_revenue, ref.gross);
    assert.equal(body.totals.orders, ref.orders);
    assert.equal(body.totals.unique_customers, ref.customers);
    assert.deepEqual(body.days.map((d) => d.date), [D1, D2]);
    assert.equal(body.days[0].workflow_url, `http://${config.temporal.uiHost}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/daily-analytics-${D1}`);
    assert.equal(body.days[0].source?.stream_orders, 0);
    assert.equal(body.days[0].source?.batch_orders, body.days[0].orders);
    const t = body.tiles;
    assert.equal(t.anchor, D2);
    assert.equal(t.anchor_is_today, false);
    assert.deepEqual([t.anchor_day?.from, t.previous_day?.from, t.last_7?.from, t.last_7?.to, t.previous_7?.from, t.previous_7?.to],
      [D2, D1, '2010-11-26', D2, '2010-11-19', '2010-11-25']);
    assert.equal(t.last_7?.gross_revenue, ref.gross);
    assert.equal(t.last_7?.unique_customers, ref.customers);
    assert.equal(t.previous_7?.days_with_data, 0);
    const one = await ok(`/api/v1/kpis?from=${D2}&to=${D2}`, S.KpisResponse);
    assert.deepEqual(one.days.map((d) => d.date), [D2]);
    assert.equal(one.totals.orders, body.days[1].orders);
  });

  it('/api/v1/countries: top countries and "Other" add up to the range', async () => {
    const body = await ok('/api/v1/countries', S.CountriesResponse);
    const [ref] = await wh.query<{ uk: string; all: string; n: number }>(`
      SELECT SUM(CASE WHEN country = 'United Kingdom' THEN quantity * unit_price END) AS uk, SUM(quantity * unit_price) AS "all", COUNT(DISTINCT country) AS n
      FROM orders_raw WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0`);
    assert.equal(body.countries[0].country, 'United Kingdom');
    assert.equal(body.countries[0].gross_revenue, ref.uk);
    assert.equal(body.total_revenue, ref.all);
    assert.equal(body.countries.reduce((n, c) => n + c.countries, 0), ref.n);
    assert.ok(body.countries.length <= 11);
    if (ref.n > 10) assert.equal(body.countries[10].is_other, true);
  });

  it('/api/v1/products: the range top by revenue, ranked', async () => {
    const body = await ok('/api/v1/products?limit=5', S.ProductsResponse);
    const ref = await wh.query<{ stock_code: string; revenue: string }>(`
      SELECT stock_code, SUM(quantity * unit_price) AS revenue FROM orders_raw WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0
      GROUP BY stock_code ORDER BY revenue DESC, stock_code LIMIT 5`);
    assert.deepEqual(body.products.map((p) => [p.rank, p.stock_code, p.revenue]), ref.map((r, i) => [i + 1, r.stock_code, r.revenue]));
  });

  it('/api/v1/predictions: each day with the version that scored it, and the range MAE over orders', async () => {
    const body = await ok('/api/v1/predictions', S.PredictionsResponse);
    assert.deepEqual(body.days.map((d) => [d.date, d.model_version]), [[D1, 'rf-b'], [D2, 'rf-a']]);
    const [ref] = await wh.query<{ abs: string; n: number }>('SELECT SUM(abs_error) AS abs, COUNT(*) AS n FROM order_predictions');
    assert.equal(body.orders, ref.n);
    assert.equal(Math.round(Number(body.mae) * 100), Math.round((Number(ref.abs) / ref.n) * 100));
    assert.deepEqual(body.by_model.map((m) => m.model_version), ['rf-b', 'rf-a']);
    assert.match(body.days[1].workflow_url ?? '', /\/workflows\/daily-analytics-2010-12-02$/);
  });

  it('/api/v1/quality and /api/v1/quality/:date: the grid and one day in full', async () => {
    const grid = await ok('/api/v1/quality', S.QualityResponse);
    assert.deepEqual(grid.days.map((d) => d.date), [D1, D2]);
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM dq_results');
    assert.equal(grid.cells.length, n);
    assert.equal(grid.totals.pass + grid.totals.warn + grid.totals.fail, n);
    assert.ok(grid.cells.every(([d, c, s]) => d < grid.days.length && c < grid.checks.length && s >= 0 && s <= 2));
    const day = await ok(`/api/v1/quality/${D1}`, S.QualityDayResponse);
    const [{ m }] = await wh.query<{ m: number }>(`SELECT COUNT(*) AS m FROM dq_results WHERE check_date = CAST('${D1}' AS DATE)`);
    assert.equal(day.results.length, m);
    assert.equal(day.workflow_id, `data-quality-${D1}`);
    assert.ok(day.results.every((r) => typeof r.detail === 'string' && Array.isArray(r.examples)));
  });

  it('/api/v1/models: versions oldest first and the promotion log', async () => {
    const body = await ok('/api/v1/models', S.ModelsResponse);
    assert.equal(body.current, 'rf-a');
    assert.deepEqual(body.versions.map((v) => [v.version, v.mae]), [['rf-a', 120], ['rf-b', 110]]);
    assert.deepEqual(body.promotions.map((p) => [p.action, p.version]), [['gate', 'rf-a'], ['manual', 'rf-b'], ['rollback', 'rf-a']]);
    assert.match(decodeURIComponent(body.versions[0].training_runs_url), /workflows\?query=WorkflowType="trainingWorkflow" AND StartTime <= ".+" AND CloseTime >= ".+"$/);
  });

  it('/api/v1/stream: zeros and an empty feed before anything was streamed', async () => {
    const body = await ok('/api/v1/stream?limit=5', S.StreamResponse);
    assert.deepEqual([body.stored, body.duplicates, body.dead_lettered, body.duplicate_rate, body.high_value_lines.length], [0, 0, 0, 0, 0]);
  });

  it('serves the page, its script and ECharts; /docs lists every /api/v1 endpoint under "dashboard"', async () => {
    for (const [url, type] of [['/dashboard', /text\/html/], ['/dashboard/', /text\/html/], ['/dashboard/app.js', /javascript/], ['/dashboard/style.css', /text\/css/], ['/dashboard/vendor/echarts.min.js', /javascript/]] as const) {
      const response = await get(url);
      assert.equal(response.statusCode, 200, url);
      assert.match(String(response.headers['content-type']), type, url);
    }
    assert.match((await get('/dashboard')).body, /<script src="\/dashboard\/app\.js"/);
    assert.equal((await get('/dashboard/../package.json')).statusCode, 404);
    const doc = (await get('/docs/json')).json<{ paths: Record<string, { get?: { tags?: string[] } }> }>();
    const paths = ['/api/v1/range', '/api/v1/kpis', '/api/v1/countries', '/api/v1/products', '/api/v1/predictions', '/api/v1/quality', '/api/v1/quality/{date}', '/api/v1/models', '/api/v1/stream'];
    for (const p of paths) assert.deepEqual(doc.paths[p]?.get?.tags, ['dashboard'], p);
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/dashboard')), 'the static routes stay out of the API document');
  });

  describe('answers kept until the data changes (lib/dashboard/cache.ts)', () => {
    it('answers again from the cache, computes again after a write, keeps no failure', async () => {
      let now = 0;
      const cache = new DashboardCache(wh, { probeEveryMs: 1_000, now: () => now });
      let computed = 0;
      const count = () => cache.get('n', async () => {
        computed++;
        const [r] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM model_versions');
        return r.n;
      });
      const before = await count();
      now += 5_000;
      assert.equal(await count(), before);
      assert.deepEqual({ computed, ...cache.stats }, { computed: 1, hits: 1, misses: 1 });
      await registerModel(wh, new FileModelStore(tempDir()), fakeModel('rf-cache', 150));
      assert.equal(await count(), before, 'within the probe interval the version is not read again');
      now += 1_000;
      assert.equal(await count(), before + 1, 'a write makes a new version');
      assert.equal(computed, 2);
      await assert.rejects(cache.get('boom', async () => {
        throw new Error('query failed');
      }), /query failed/);
      assert.equal(await cache.get('boom', async () => 'fine'), 'fine');
    });

    it('maxAgeMs 0 computes every ask', async () => {
      const cache = new DashboardCache(wh, { maxAgeMs: 0 });
      let computed = 0;
      for (let i = 0; i < 3; i++) await cache.get('k', async () => ++computed);
      assert.equal(computed, 3);
    });

    it('the API shows a new model version within the probe interval (1 s)', async () => {
      const probe = () => new Promise((r) => setTimeout(r, 1_100));
      await probe(); // past the interval: the earlier tests' writes are seen
      const first = await ok('/api/v1/models', S.ModelsResponse);
      await registerModel(wh, new FileModelStore(tempDir()), fakeModel('rf-later', 140));
      await probe();
      const later = await ok('/api/v1/models', S.ModelsResponse);
      assert.deepEqual(later.versions.map((v) => v.version), [...first.versions.map((v) => v.version), 'rf-later']);
    });
  });
});
