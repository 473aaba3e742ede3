/**
 * Training examples of the revenue model (lib/model/features.ts): exact counts on the whole real
 * data set in DuckDB, and the same examples from the BigQuery emulator on a slice.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrdersFile } from '../lib/ingest/load';
import { dayOfWeekSql, extractTrainingSet, TrainingSet } from '../lib/model/features';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { BigQueryWarehouse } from '../lib/warehouse/bigquery';
import type { Warehouse } from '../lib/warehouse/types';
import { realDataFile, realDataHead, tempDir, writeCsv } from './support/fixtures';

const BOUNDARY = '2011-11-01';
const NAMES = ['quantity', 'unit_price', 'hour', 'day_of_week', 'is_uk', 'customer_known'];

function row(set: TrainingSet, i: number): number[] {
  return Array.from(set.features.subarray(i * set.nFeatures, (i + 1) * set.nFeatures));
}

/** 2011-12-05 was a Monday: the week 2011-12-05..11 must read 0..6 on every backend. */
async function weekdays(wh: Warehouse): Promise<number[]> {
  const cols = [5, 6, 7, 8, 9, 10, 11].map((d) => `${dayOfWeekSql(wh.backend, `CAST('2011-12-${String(d).padStart(2, '0')}' AS DATE)`)} AS d${d}`);
  const [r] = await wh.query<Record<string, number>>(`SELECT ${cols.join(', ')}`);
  return [5, 6, 7, 8, 9, 10, 11].map((d) => Number(r[`d${d}`]));
}

describe('model features on the real data set (DuckDB)', function () {
  this.timeout(120_000);
  let wh: DuckDBWarehouse;
  let train: TrainingSet;
  let test: TrainingSet;

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await loadOrdersFile(wh, realDataFile());
    train = await extractTrainingSet(wh, { split: 'train', boundary: BOUNDARY });
    test = await extractTrainingSet(wh, { split: 'test', boundary: BOUNDARY, pageSize: 50_000 });
  });
  after(async () => wh?.close());

  it('train has 421,624 sale lines before 2011-11-01, test 108,480 from it: 530,104 in all', async () => {
    assert.equal(train.rows, 421_624);
    assert.equal(test.rows, 108_480);
    assert.equal(train.firstDate, '2010-12-01');
    assert.equal(train.lastDate, '2011-10-31');
    assert.equal(test.firstDate, '2011-11-01');
    assert.equal(test.lastDate, '2011-12-09');
    // Independently: every sale line, by the daily KPI rule, lands in exactly one split.
    const [{ n }] = await wh.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM orders_raw WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0');
    assert.equal(train.rows + test.rows, n);
    assert.equal(n, 530_104);
  });

  it('shapes: row-major n x d arrays with the documented feature names', () => {
    for (const s of [train, test]) {
      assert.deepEqual(s.featureNames, NAMES);
      assert.equal(s.nFeatures, 6);
      assert.equal(s.features.length, s.rows * 6);
      assert.equal(s.target.length, s.rows);
      assert.equal(s.lineRevenue.length, s.rows);
    }
  });

  it('the first invoice 536365 (7 lines, 2010-12-01 08:26, a Wednesday, UK, customer 17850) has target 139.12', async () => {
    // Independently: 6x2.55 + 6x3.39 + 8x2.75 + 6x3.39 + 6x3.39 + 2x7.65 + 6x4.25 from the CSV.
    const expected = 6 * 2.55 + 6 * 3.39 + 8 * 2.75 + 6 * 3.39 + 6 * 3.39 + 2 * 7.65 + 6 * 4.25;
    assert.equal(expected.toFixed(2), '139.12');
    for (let i = 0; i < 7; i++) assert.equal(train.target[i], 139.12, `line ${i}`);
    assert.deepEqual(row(train, 0), [6, 2.55, 8, 2, 1, 1]);
    assert.equal(train.lineRevenue[0], 15.3);
    assert.notEqual(train.target[7], 139.12, 'the 8th line belongs to the next invoice');
  });

  it('the last invoice 581587 (2011-12-09, a Friday, France) ends the test split with its SQL total', async () => {
    const [{ total, lines }] = await wh.query<{ total: string; lines: number }>(`
      SELECT SUM(quantity * unit_price) AS total, COUNT(*) AS lines FROM orders_raw
      WHERE invoice_no = '581587' AND quantity > 0 AND unit_price > 0`);
    const last = test.rows - 1;
    assert.equal(test.target[last], Number(total));
    assert.equal(total, '249.45'); // the 15 lines of 581587 in the CSV: 12x1.95 + 12x1.65 + ... + 3x4.95
    const [, , hour, dow, isUk, known] = row(test, last);
    assert.deepEqual([hour, dow, isUk, known], [12, 4, 0, 1]);
    for (let i = last - lines + 1; i <= last; i++) assert.equal(test.target[i], 249.45);
  });

  it('day_of_week is 0 = Monday ... 6 = Sunday', async () => {
    assert.deepEqual(await weekdays(wh), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('flags: false leaves the four base features', async () => {
    const s = await extractTrainingSet(wh, { split: 'test', boundary: '2011-12-09', flags: false });
    assert.deepEqual(s.featureNames, NAMES.slice(0, 4));
    assert.equal(s.features.length, s.rows * 4);
    assert.ok(s.rows > 0);
  });

  it('rejects a malformed boundary', async () => {
    await assert.rejects(extractTrainingSet(wh, { split: 'train', boundary: '2011-13-01' }), /boundary must be a calendar date/);
  });
});

describe('model features: BigQuery emulator equals DuckDB on a slice @integration', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let duck: DuckDBWarehouse;
  let bq: BigQueryWarehouse;
  // 4,000 lines: 2010-12-01 (3,071 lines) and the start of 2010-12-02, so both splits have rows.
  const slice = writeCsv(realDataHead(4_001));
  const boundary = '2010-12-02';

  before(async function () {
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none') this.skip();
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set: the root hook should have started the emulator');
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    bq = await createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `features_${Date.now()}`, location: 'US', emulatorHost: host });
    duck = new DuckDBWarehouse({ path: path.join(dir, 'w.duckdb') });
    await Promise.all([loadOrdersFile(bq, slice), loadOrdersFile(duck, slice)]);
  });
  after(async () => {
    await bq?.dropDataset();
    await bq?.close();
    await duck?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('day_of_week is 0 = Monday ... 6 = Sunday on BigQuery too', async () => {
    assert.deepEqual(await weekdays(bq), [0, 1, 2, 3, 4, 5, 6]);
  });

  for (const split of ['train', 'test'] as const) {
    it(`the ${split} split is identical on both backends (paged on BigQuery)`, async () => {
      const [a, b] = [await extractTrainingSet(duck, { split, boundary }), await extractTrainingSet(bq, { split, boundary, pageSize: 1_000 })];
      assert.ok(a.rows > 0);
      assert.equal(b.rows, a.rows);
      assert.deepEqual(Array.from(b.features), Array.from(a.features));
      assert.deepEqual(Array.from(b.target), Array.from(a.target));
      assert.deepEqual(Array.from(b.lineRevenue), Array.from(a.lineRevenue));
      assert.deepEqual([b.firstDate, b.lastDate], [a.firstDate, a.lastDate]);
    });
  }
});
