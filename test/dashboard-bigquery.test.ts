/**
 * The dashboard's queries give the same answers on BigQuery (the emulator) as on DuckDB: two real
 * days (the first 4,000 lines of the data set) analysed and scored, and one of them checked, on
 * both backends with the same lib code; then every answer of lib/dashboard/queries.ts is compared,
 * write times aside.
 */
import { strict as assert } from 'node:assert';
import { computeDailyReport, storeDailyReport } from '../lib/analytics/daily';
import { createPredictionScorer } from '../lib/analytics/predictions';
import { loadConfig } from '../lib/config';
import { DashboardCache } from '../lib/dashboard/cache';
import * as q from '../lib/dashboard/queries';
import { loadOrdersFile } from '../lib/ingest/load';
import { promote, promoteIfBetter, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { runDayChecks } from '../lib/quality/checks';
import { storeDqResults } from '../lib/quality/results';
import { loadThresholds } from '../lib/quality/thresholds';
import type { BigQueryWarehouse } from '../lib/warehouse/bigquery';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { Warehouse } from '../lib/warehouse/types';
import { realDataHead, tempDir, writeCsv } from './support/fixtures';
import { fakeModel, smallForest } from './support/model-fixtures';

const DAYS = ['2010-12-01', '2010-12-02'];
const RANGE = { from: DAYS[0], to: DAYS[1] };
const LINKS: q.DashboardLinks = { workflow: (id) => `ui/${id}`, trainingRunsAt: () => 'ui/training' };
/** Write times differ between the two runs; everything else must not. */
const TIMES = new Set(['computed_at', 'scored_at', 'created_at', 'promoted_at', 'at', 'training_runs_url']);

function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !TIMES.has(k)).map(([k, v]) => [k, withoutTimes(v)]));
  }
  return value;
}

async function prepare(wh: Warehouse): Promise<void> {
  const fixture = writeCsv(realDataHead(4_001));
  await loadOrdersFile(wh, fixture);
  const store = new FileModelStore(tempDir());
  const artifact = await smallForest(1, 10);
  await registerModel(wh, store, fakeModel('rf-a', 120, { artifact, createdAt: new Date('2011-12-10T03:00:00Z') }));
  await registerModel(wh, store, fakeModel('rf-b', 110, { artifact, createdAt: new Date('2011-12-11T03:00:00Z') }));
  await promoteIfBetter(wh, 'rf-a', { tolerance: 0 });
  await promote(wh, 'rf-b');
  const scorer = createPredictionScorer(wh, store);
  const thresholds = loadThresholds(loadConfig().quality.thresholdsFile);
  for (const date of DAYS) {
    await storeDailyReport(wh, await computeDailyReport(wh, date), `daily-analytics-${date}`);
    await scorer.scoreDay(date);
  }
  // One day's checks are enough to compare (they are the slow part on the emulator).
  await storeDqResults(wh, { date: DAYS[0], results: await runDayChecks(wh, DAYS[0], thresholds, new Date('2010-12-03T00:00:00Z')) }, `data-quality-${DAYS[0]}`);
}

describe('dashboard queries on the BigQuery emulator give the DuckDB answers @integration', function () {
  this.timeout(600_000);
  let duck: DuckDBWarehouse;
  let bq: BigQueryWarehouse;

  before(async function () {
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none') this.skip();
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set: the root hook should have started the emulator');
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    bq = await createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `dashboard_${Date.now()}`, location: 'US', emulatorHost: host });
    duck = new DuckDBWarehouse({ path: ':memory:' });
    await Promise.all([prepare(duck), prepare(bq)]);
  });
  after(async () => {
    await bq?.dropDataset();
    await bq?.close();
    await duck?.close();
  });

  const answers: Array<[string, (wh: Warehouse) => Promise<unknown>]> = [
    ['analysedRange', (wh) => q.analysedRange(wh)],
    ['kpis', (wh) => q.kpis(wh, RANGE, '2010-12-02', LINKS)],
    ['kpis (one day, anchor not today)', (wh) => q.kpis(wh, { from: DAYS[1], to: DAYS[1] }, '2011-01-01', LINKS)],
    ['countries', (wh) => q.countries(wh, RANGE)],
    ['products', (wh) => q.products(wh, RANGE, 10)],
    ['predictions', (wh) => q.predictions(wh, RANGE, LINKS)],
    ['qualityGrid', (wh) => q.qualityGrid(wh, RANGE, LINKS)],
    ['qualityDay', (wh) => q.qualityDay(wh, DAYS[0], LINKS)],
    ['models', (wh) => q.models(wh, LINKS)],
    ['stream', (wh) => q.stream(wh, 10, LINKS)],
  ];
  for (const [name, answer] of answers) {
    it(`${name}: the same on both backends`, async () => {
      const [onDuck, onBq] = await Promise.all([answer(duck), answer(bq)]);
      assert.deepEqual(withoutTimes(onBq), withoutTimes(onDuck));
    });
  }

  it('the cache reads a data version on BigQuery too, and a write changes it', async () => {
    let now = 0;
    const cache = new DashboardCache(bq, { now: () => now });
    const models = () => cache.get('models', () => q.models(bq, LINKS));
    const before = await models();
    now += 2_000;
    assert.equal(await models(), before);
    await registerModel(bq, new FileModelStore(tempDir()), fakeModel('rf-c', 130, { createdAt: new Date('2011-12-12T03:00:00Z') }));
    now += 2_000;
    assert.equal((await models()).versions.length, before.versions.length + 1);
    assert.deepEqual(cache.stats, { hits: 1, misses: 2 });
  });
});
