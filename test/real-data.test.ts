/**
 * The whole UCI Online Retail file, loaded the way users load it. Expected numbers come from the
 * data set's README (../shared/data/README.md), not from our own code.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrdersFile, LoadResult } from '../lib/ingest/load';
import { DatasetSummary, summarizeOrders, summaryToCsv, writeSummaryCsv } from '../lib/summary';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { realDataFile, tempDir } from './support/fixtures';

describe('the real data set in DuckDB', function () {
  this.timeout(120_000);
  let wh: DuckDBWarehouse;
  let first: LoadResult;
  let summary: DatasetSummary;
  const dir = tempDir();

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb') });
    first = await loadOrdersFile(wh, realDataFile());
    summary = await summarizeOrders(wh);
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads all 541,909 lines with none quarantined', () => {
    assert.equal(first.status, 'loaded');
    assert.equal(first.rowsLoaded, 541_909);
    assert.equal(first.rowsQuarantined, 0);
  });

  it('keeps money exact: sum(Quantity x UnitPrice) is 9,747,747.93 to the cent', async () => {
    const [r] = await wh.query<{ total: string }>('SELECT SUM(quantity * unit_price) AS total FROM orders_raw');
    assert.equal(r.total, '9747747.934');
    assert.equal(Number(r.total).toFixed(2), '9747747.93');
  });

  it('matches the README facts: invoices, cancellations, customers, countries, blanks', async () => {
    const [r] = await wh.query<Record<string, number>>(`
      SELECT COUNT(DISTINCT invoice_no) AS invoices,
             SUM(CASE WHEN is_cancellation THEN 1 ELSE 0 END) AS cancel_lines,
             COUNT(DISTINCT customer_id) AS customers,
             SUM(CASE WHEN customer_id IS NULL THEN 1 ELSE 0 END) AS no_customer,
             SUM(CASE WHEN description IS NULL THEN 1 ELSE 0 END) AS no_description,
             COUNT(DISTINCT country) AS countries,
             MAX(quantity) AS max_quantity
      FROM orders_raw`);
    assert.deepEqual(r, {
      invoices: 25_900, cancel_lines: 9_288, customers: 4_372, no_customer: 135_080,
      no_description: 1_454, countries: 38, max_quantity: 80_995,
    });
  });

  it('loading the same file again is a no-op and still leaves 541,909 rows', async () => {
    const again = await loadOrdersFile(wh, realDataFile());
    assert.equal(again.status, 'already-loaded');
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_raw');
    assert.equal(n, 541_909);
  });

  it('summarises every column: count, nulls, distinct, min, max, mean', () => {
    const byName = Object.fromEntries(summary.columns.map((c) => [c.column, c]));
    assert.equal(summary.rows, 541_909);
    assert.equal(summary.firstDate, '2010-12-01');
    assert.equal(summary.lastDate, '2011-12-09');
    assert.equal(summary.cancellationLines, 9_288);
    assert.equal(summary.countries, 38);
    assert.deepEqual(byName.customer_id, { column: 'customer_id', count: 406_829, nulls: 135_080, distinct: 4_372, min: '12346', max: '18287', mean: null });
    assert.equal(byName.description.nulls, 1_454);
    assert.equal(byName.invoice_no.distinct, 25_900);
    assert.equal(byName.quantity.min, '-80995');
    assert.equal(byName.quantity.max, '80995');
    assert.equal(byName.quantity.mean, '9.5522');
    assert.equal(byName.invoice_ts.min, '2010-12-01T08:26:00.000Z');
    assert.equal(byName.invoice_ts.max, '2011-12-09T12:50:00.000Z');
  });

  it('writes dataset_summary.csv with one line per column and the table facts', () => {
    const out = path.join(dir, 'dataset_summary.csv');
    writeSummaryCsv(summary, out);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'column,count,nulls,distinct,min,max,mean');
    assert.ok(lines.includes('customer_id,406829,135080,4372,12346,18287,'));
    assert.ok(lines.includes('(table) rows,541909,,,2010-12-01,2011-12-09,'));
    assert.equal(summaryToCsv(summary), fs.readFileSync(out, 'utf8'));
  });
});
