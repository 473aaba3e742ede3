/**
 * Predicted vs actual order revenue (lib/analytics/predictions.ts): a small real forest, promoted,
 * scores days of a real data slice. Expectations are computed here from the fixture CSV with an
 * own parser and `model.predictOne` per line, BigInt pence and thousandths: no code shared with the
 * scorer's SQL, grouping or decimal arithmetic.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDailyAnalytics } from '../clients/per-day';
import { computeDailyKpis } from '../lib/analytics/daily';
import { createPredictionScorer, NO_MODEL_REASON, PredictionOutcome, PredictionScorer } from '../lib/analytics/predictions';
import { loadOrdersFile } from '../lib/ingest/load';
import { RandomForestModel, trainForest } from '../lib/model/forest';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore, ModelStore } from '../lib/model/store';
import type { BigQueryWarehouse } from '../lib/warehouse/bigquery';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { describePredictions } from '../tools/commands/analytics';
import { services } from './hooks';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { fakeModel, smallForest } from './support/model-fixtures';
import { startTestWorker, TestWorker } from './support/worker';
import { splitCsvLine } from './support/reference-kpis';

// 2010-12-01 whole (3,071 lines) and the start of 2010-12-02 (884 lines), plus a Sunday with a
// refund line only: order lines, but no sale line to score.
const REFUND_ONLY_DAY = '2010-12-05';
const FIXTURE = [...realDataHead(4_001), 'C999001,22423,REGENCY CAKESTAND 3 TIER,-1,12/5/2010 10:00,12.75,17850,United Kingdom'];
const D1 = '2010-12-01';
const D2 = '2010-12-02';

// ---- the independent reference -------------------------------------------------------------

interface CsvLine { invoice: string; quantity: number; price: string; day: string; hour: number; country: string; customer: string }

function parseFixture(lines: readonly string[]): CsvLine[] {
  return lines.slice(1).filter((l) => l !== '').map((l) => {
    const [invoice, , , qty, date, price, customer, country] = splitCsvLine(l);
    const [mdy, hm] = date.split(' ');
    const [m, d, y] = mdy.split('/');
    return { invoice, quantity: Number(qty), price, day: `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`, hour: Number(hm.split(':')[0]), country, customer };
  });
}

/** "2.55" -> 2550n; the data has at most 3 decimals (fails loudly otherwise). */
function thousandths(price: string): bigint {
  const [w, f = ''] = price.split('.');
  assert.ok(f.length <= 3, `price ${price} has more than 3 decimals`);
  return BigInt(w + f.padEnd(3, '0'));
}

/** Canonical decimal text of n / 10^places, as the warehouse returns NUMERIC ("12.3", "5"). */
function text(n: bigint, places: number): string {
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(places + 1, '0');
  const out = `${s.slice(0, s.length - places)}.${s.slice(s.length - places)}`.replace(/0+$/, '').replace(/\.$/, '');
  return `${neg ? '-' : ''}${out}`;
}

interface ExpectedOrder { [k: string]: string | number; invoice_no: string; lines: number; predicted_revenue: string; actual_revenue: string; abs_error: string }

function expectedDay(lines: readonly CsvLine[], day: string, model: RandomForestModel, modelVersion: string): { outcome: PredictionOutcome; orders: ExpectedOrder[] } {
  const byInvoice = new Map<string, CsvLine[]>();
  for (const l of lines) {
    if (l.day !== day || l.invoice.startsWith('C') || l.quantity <= 0 || thousandths(l.price) <= 0n) continue;
    byInvoice.set(l.invoice, [...(byInvoice.get(l.invoice) ?? []), l]);
  }
  const [y, m, d] = day.split('-').map(Number);
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // 0 = Monday
  const orders: ExpectedOrder[] = [];
  let absSum = 0n; // thousandths
  let predictedCents = 0n;
  let actualSum = 0n;
  let lineCount = 0;
  for (const [invoice, ls] of [...byInvoice].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let sum = 0;
    for (const l of ls) {
      const values: Record<string, number> = {
        quantity: l.quantity, unit_price: Number(l.price), hour: l.hour, day_of_week: weekday,
        is_uk: l.country === 'United Kingdom' ? 1 : 0, customer_known: l.customer === '' ? 0 : 1,
      };
      sum += model.predictOne(model.featureNames.map((n) => values[n]));
    }
    const cents = BigInt(Math.round(Number((sum / ls.length).toFixed(2)) * 100));
    const actual = ls.reduce((acc, l) => acc + BigInt(l.quantity) * thousandths(l.price), 0n);
    const err = cents * 10n - actual;
    const abs = err < 0n ? -err : err;
    orders.push({ invoice_no: invoice, lines: ls.length, predicted_revenue: text(cents, 2), actual_revenue: text(actual, 3), abs_error: text(abs, 3) });
    absSum += abs;
    predictedCents += cents;
    actualSum += actual;
    lineCount += ls.length;
  }
  // MAE to the penny, half-up: absSum thousandths / (orders x 10).
  const div = BigInt(orders.length) * 10n;
  const maeCents = absSum / div + ((absSum % div) * 2n >= div ? 1n : 0n);
  return {
    outcome: {
      status: 'scored', modelVersion, orders: orders.length, lines: lineCount,
      mae: text(maeCents, 2), predictedTotal: text(predictedCents, 2), actualTotal: text(actualSum, 3),
    },
    orders,
  };
}

// ---- helpers ------------------------------------------------------------------------------

/** A store that records every artifact read. */
function countingStore(inner: ModelStore): ModelStore & { reads: string[] } {
  const reads: string[] = [];
  return { reads, put: (v, b) => inner.put(v, b), get: (v, sha) => { reads.push(v); return inner.get(v, sha); } };
}

/** A forest on four of the features, in an order unlike training's: the scorer must map by name. */
async function reorderedForest(): Promise<Buffer> {
  const names = ['unit_price', 'quantity', 'day_of_week', 'hour'];
  const n = 1_500;
  const features = new Float64Array(n * names.length);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = 1 + (i % 24);
    const p = 0.4 + ((i * 3) % 12);
    const h = 7 + (i % 12);
    features.set([p, q, i % 7, h], i * names.length);
    target[i] = q * p * 4 + h * 10;
  }
  const model = await trainForest({ features, target, nFeatures: names.length, featureNames: names }, { nTrees: 8, minSamplesLeaf: 2, seed: 5, threads: 1 });
  return model.toBuffer();
}

async function register(wh: DuckDBWarehouse, store: ModelStore, version: string, artifact: Buffer): Promise<RandomForestModel> {
  const model = RandomForestModel.fromBuffer(artifact);
  await registerModel(wh, store, fakeModel(version, 100, { artifact, featureNames: model.featureNames }));
  await promote(wh, version);
  return model;
}

async function orderRows(wh: DuckDBWarehouse, day: string): Promise<Array<ExpectedOrder & { model_version: string }>> {
  return wh.query(`
    SELECT invoice_no, lines, predicted_revenue, actual_revenue, abs_error, model_version
    FROM order_predictions WHERE invoice_date = CAST(@day AS DATE) ORDER BY invoice_no`, { day });
}

async function dailyRows(wh: DuckDBWarehouse, day: string): Promise<Array<Record<string, string | number | null>>> {
  return wh.query(`
    SELECT model_version, orders, lines, mae, predicted_total, actual_total
    FROM daily_predictions WHERE report_date = CAST(@day AS DATE)`, { day });
}

// ---- the scorer on DuckDB (no servers) --------------------------------------------------

describe('daily predictions: predicted vs actual order revenue (DuckDB)', function () {
  this.timeout(120_000);
  const dir = tempDir();
  const parsed = parseFixture(FIXTURE);
  let wh: DuckDBWarehouse;
  let store: ReturnType<typeof countingStore>;
  let scorer: PredictionScorer;
  let modelA: RandomForestModel;

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    await loadOrdersFile(wh, writeCsv(FIXTURE));
    store = countingStore(new FileModelStore(path.join(dir, 'models')));
    scorer = createPredictionScorer(wh, store);
  });
  after(async () => {
    await wh?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without a promoted model: no-model, and no prediction rows', async () => {
    assert.deepEqual(await scorer.scoreDay(D1), { status: 'no-model', reason: NO_MODEL_REASON });
    const [{ n }] = await wh.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name IN ('order_predictions', 'daily_predictions')");
    assert.equal(n, 0);
  });

  it('scores a day exactly: per order the mean of its lines\' predictions vs its exact revenue, and the MAE', async () => {
    modelA = await register(wh, store, 'rf-test-a', await smallForest(3, 10));
    const outcome = await scorer.scoreDay(D1);
    const expected = expectedDay(parsed, D1, modelA, 'rf-test-a');
    assert.deepEqual(outcome, expected.outcome);
    assert.ok(expected.outcome.status === 'scored');
    const { orders, lines, mae, predictedTotal, actualTotal } = expected.outcome;
    assert.ok(orders > 50, `${orders} orders`);
    assert.notEqual(mae, '0', 'a real error, not a degenerate zero');
    assert.deepEqual(await orderRows(wh, D1), expected.orders.map((o) => ({ ...o, model_version: 'rf-test-a' })));
    assert.deepEqual(await dailyRows(wh, D1), [{
      model_version: 'rf-test-a', orders, lines, mae, predicted_total: predictedTotal, actual_total: actualTotal,
    }]);
  });

  it('actual revenue adds up to the daily KPIs: orders, sale lines and gross revenue', async () => {
    for (const day of [D1, D2]) {
      const outcome = await scorer.scoreDay(day);
      const kpis = await computeDailyKpis(wh, day);
      assert.equal(outcome.status, 'scored');
      if (outcome.status !== 'scored') return;
      assert.equal(outcome.orders, kpis.orders);
      assert.equal(outcome.lines, kpis.sale_lines);
      assert.equal(outcome.actualTotal, kpis.gross_revenue);
      const [{ total, n }] = await wh.query<{ total: string; n: number }>(
        'SELECT SUM(actual_revenue) AS total, COUNT(*) AS n FROM order_predictions WHERE invoice_date = CAST(@day AS DATE)', { day });
      assert.equal(total, kpis.gross_revenue);
      assert.equal(n, kpis.orders);
      assert.deepEqual(outcome, expectedDay(parsed, day, modelA, 'rf-test-a').outcome);
    }
  });

  it('re-running a day replaces its rows: one set per day, and a newly promoted model takes over', async () => {
    await scorer.scoreDay(D1);
    await scorer.scoreDay(D1);
    const expectedA = expectedDay(parsed, D1, modelA, 'rf-test-a');
    assert.equal((await orderRows(wh, D1)).length, expectedA.orders.length);
    assert.equal((await dailyRows(wh, D1)).length, 1);

    const modelB = await register(wh, store, 'rf-test-b', await reorderedForest());
    const outcome = await scorer.scoreDay(D1);
    const expectedB = expectedDay(parsed, D1, modelB, 'rf-test-b');
    assert.deepEqual(outcome, expectedB.outcome);
    assert.notDeepEqual(expectedB.orders, expectedA.orders, 'the two models predict differently');
    assert.deepEqual(await orderRows(wh, D1), expectedB.orders.map((o) => ({ ...o, model_version: 'rf-test-b' })));
    assert.deepEqual((await dailyRows(wh, D1)).map((r) => r.model_version), ['rf-test-b']);
    // D2 was scored by A and is left as it was.
    assert.deepEqual([...new Set((await orderRows(wh, D2)).map((r) => r.model_version))], ['rf-test-a']);
  });

  it('loads each model version\'s artifact once, however many days and re-runs it scores', async () => {
    // Days in parallel (as a backfill runs them) share the one load.
    await Promise.all([scorer.scoreDay(D1), scorer.scoreDay(D2)]);
    await scorer.scoreDay(D2);
    assert.deepEqual(store.reads, ['rf-test-a', 'rf-test-b']);
  });

  it('a day with order lines but no sale line: a clear no-sales outcome and an empty summary row', async () => {
    assert.deepEqual(await scorer.scoreDay(REFUND_ONLY_DAY), {
      status: 'no-sales', modelVersion: 'rf-test-b', reason: `no sale lines on ${REFUND_ONLY_DAY}: nothing to score`,
    });
    assert.deepEqual(await orderRows(wh, REFUND_ONLY_DAY), []);
    assert.deepEqual(await dailyRows(wh, REFUND_ONLY_DAY), [{ model_version: 'rf-test-b', orders: 0, lines: 0, mae: null, predicted_total: '0', actual_total: '0' }]);
  });

  it('rejects a malformed date', async () => {
    await assert.rejects(scorer.scoreDay('2010-12-32'), { name: 'InvalidDateError' });
  });

  it('a model using a feature the scorer cannot compute fails with its name', async () => {
    const n = 200;
    const features = new Float64Array(n * 2);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) { features.set([1 + (i % 5), i % 3], i * 2); target[i] = i % 17; }
    const odd = await trainForest({ features, target, nFeatures: 2, featureNames: ['quantity', 'basket_size'] }, { nTrees: 2, minSamplesLeaf: 5, seed: 1, threads: 1 });
    await register(wh, store, 'rf-test-odd', odd.toBuffer());
    await assert.rejects(scorer.scoreDay(D1), /cannot compute: basket_size/);
    await promote(wh, 'rf-test-b');
  });

  it('a re-run after the day\'s data changed drops the orders that are gone (last: it edits orders_raw)', async () => {
    const before = await orderRows(wh, D2);
    const gone = before[0].invoice_no;
    await wh.execute('DELETE FROM orders_raw WHERE invoice_no = @gone', { gone });
    const modelB = RandomForestModel.fromBuffer(await store.get('rf-test-b'));
    const expected = expectedDay(parsed.filter((l) => l.invoice !== gone), D2, modelB, 'rf-test-b');
    assert.deepEqual(await scorer.scoreDay(D2), expected.outcome);
    assert.deepEqual(await orderRows(wh, D2), expected.orders.map((o) => ({ ...o, model_version: 'rf-test-b' })));
    assert.equal(expected.orders.length, before.length - 1);
  });
});

describe('daily predictions: the CLI line', () => {
  it('says what was scored, or why nothing was', () => {
    assert.equal(
      describePredictions({ status: 'scored', modelVersion: 'rf-x', orders: 12, lines: 340, mae: '123.4', predictedTotal: '5000.5', actualTotal: '4321.125' }),
      'predictions: model rf-x, 12 orders (340 lines), MAE 123.40, predicted 5000.50 vs actual 4321.13');
    assert.equal(describePredictions({ status: 'no-sales', modelVersion: 'rf-x', reason: 'no sale lines on 2010-12-05: nothing to score' }),
      'predictions: model rf-x, no sale lines on 2010-12-05: nothing to score');
    assert.equal(describePredictions({ status: 'no-model', reason: NO_MODEL_REASON }), `predictions: none (${NO_MODEL_REASON})`);
  });
});

// ---- the same on BigQuery (emulator) -------------------------------------------------------

describe('daily predictions on the BigQuery emulator: same outcome and rows, re-run replaces @integration', function () {
  this.timeout(180_000);
  const dir = tempDir();
  const parsed = parseFixture(FIXTURE);
  let bq: BigQueryWarehouse;

  before(async function () {
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none') this.skip();
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set: the root hook should have started the emulator');
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    bq = await createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `predictions_${Date.now()}`, location: 'US', emulatorHost: host });
    await loadOrdersFile(bq, writeCsv(FIXTURE));
  });
  after(async () => {
    await bq?.dropDataset();
    await bq?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scores 2010-12-01 exactly as the reference, twice, leaving one set of rows', async () => {
    const store = new FileModelStore(path.join(dir, 'models'));
    const artifact = await smallForest(3, 10);
    const model = RandomForestModel.fromBuffer(artifact);
    await registerModel(bq, store, fakeModel('rf-bq-a', 100, { artifact }));
    await promote(bq, 'rf-bq-a');
    const scorer = createPredictionScorer(bq, store);
    const expected = expectedDay(parsed, D1, model, 'rf-bq-a');
    assert.deepEqual(await scorer.scoreDay(D1), expected.outcome);
    assert.deepEqual(await scorer.scoreDay(D1), expected.outcome);
    const rows = await bq.query(`
      SELECT invoice_no, lines, predicted_revenue, actual_revenue, abs_error, model_version
      FROM order_predictions WHERE invoice_date = CAST(@day AS DATE) ORDER BY invoice_no`, { day: D1 });
    assert.deepEqual(rows, expected.orders.map((o) => ({ ...o, model_version: 'rf-bq-a' })));
    const [{ n }] = await bq.query<{ n: number }>('SELECT COUNT(*) AS n FROM daily_predictions WHERE report_date = CAST(@day AS DATE)', { day: D1 });
    assert.equal(n, 1);
  });
});

// ---- the daily workflow end to end ----------------------------------------------------------

describe('@integration daily analytics workflow scores the day with the promoted model', function () {
  this.timeout(180_000);
  const dir = tempDir();
  const storeDir = path.join(dir, 'models');
  const parsed = parseFixture(FIXTURE);
  let wh: DuckDBWarehouse;
  let worker: TestWorker;

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    await loadOrdersFile(wh, writeCsv(FIXTURE));
    worker = await startTestWorker({ warehouse: wh, dataDir: dir, name: 'predictions', modelStoreDir: storeDir });
  });
  after(async () => {
    await worker?.stop();
    await wh?.close();
  });

  const run = async (date: string) => (await startDailyAnalytics(services().temporal.client, worker.taskQueue, date)).result();

  it('without a promoted model the run succeeds and reports no-model', async () => {
    const result = await run(D2);
    assert.deepEqual(result.predictions, { status: 'no-model', reason: NO_MODEL_REASON });
  });

  it('with a promoted model the run returns status scored with the model version and the exact numbers', async () => {
    const model = await register(wh, new FileModelStore(storeDir), 'rf-wf-a', await smallForest(11, 10));
    const result = await run(D1);
    const expected = expectedDay(parsed, D1, model, 'rf-wf-a');
    assert.deepEqual(result.predictions, expected.outcome);
    assert.equal(result.predictions.status === 'scored' && result.predictions.actualTotal, result.kpis.gross_revenue);
    assert.equal(result.predictions.status === 'scored' && result.predictions.orders, result.kpis.orders);
    assert.deepEqual(await orderRows(wh, D1), expected.orders.map((o) => ({ ...o, model_version: 'rf-wf-a' })));
  });
});
