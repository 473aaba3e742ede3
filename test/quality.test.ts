/**
 * Data-quality checks on DuckDB with the real data loaded once: the facts of issue 6, exactly,
 * summed over every day of the data. No servers needed.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { datesWithData } from '../lib/analytics/daily';
import { duplicateCheck, lineRuleChecks, runDayChecks } from '../lib/quality/checks';
import { result } from '../lib/quality/result';
import { dqReport, storeDqResults } from '../lib/quality/results';
import { loadThresholds, severityOf, InvalidThresholdsError, thresholdsFile } from '../lib/quality/thresholds';
import type { CheckResult } from '../lib/quality/types';
import { loadOrdersFile } from '../lib/ingest/load';
import { STREAM_TABLES } from '../lib/stream/tables';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { realDataFile, realDataHead, tempDir, writeCsv } from './support/fixtures';

describe('data-quality checks on the real data', function () {
  this.timeout(300_000);
  let wh: DuckDBWarehouse;
  const t = loadThresholds();
  const totals = new Map<string, { flagged: number; observed: number; worst: string }>();

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(tempDir(), 'warehouse.duckdb') });
    await loadOrdersFile(wh, realDataFile());
    // The line-level and duplicate checks of every day, summed (the slower outlier and volume
    // checks run over the full range in test/quality-workflow.test.ts).
    for (const date of await datesWithData(wh, '2010-12-01', '2011-12-09')) {
      const results = [...(await lineRuleChecks(wh, 'orders_raw', date, t)), await duplicateCheck(wh, 'orders_raw', date, t)];
      for (const r of results) add(r);
    }
  });
  after(async () => wh?.close());

  function add(r: CheckResult): void {
    const sum = totals.get(r.check) ?? { flagged: 0, observed: 0, worst: 'pass' };
    sum.flagged += r.flaggedLines;
    sum.observed += r.observed ?? 0;
    if (r.severity === 'fail' || (r.severity === 'warn' && sum.worst === 'pass')) sum.worst = r.severity;
    totals.set(r.check, sum);
  }
  const flagged = (check: string) => totals.get(check)?.flagged;

  it('finds the 5,268 extra exact copies', () => assert.equal(flagged('uniqueness.duplicate_lines'), 5_268));
  it('finds 1,336 negative quantities outside cancellations', () => assert.equal(flagged('validity.negative_quantity'), 1_336));
  it('finds 2,515 zero prices and 2 negative ones, both on bad-debt adjustments', () => {
    assert.equal(flagged('validity.zero_price'), 2_515);
    assert.equal(flagged('validity.negative_price'), 2);
    assert.equal(totals.get('validity.negative_price')?.observed, 0, 'adjustments do not count towards severity');
  });
  it('finds the 3 invoices starting with A', () => {
    assert.equal(totals.get('validity.invoice_prefix')?.observed, 3);
    assert.equal(flagged('validity.invoice_prefix'), 3);
  });
  it('finds 135,080 lines without CustomerID and 1,454 without Description', () => {
    assert.equal(flagged('completeness.missing_customer_id'), 135_080);
    assert.equal(flagged('completeness.missing_description'), 1_454);
  });
  it('finds 2,950 non-product stock codes and no unknown country', () => {
    assert.equal(flagged('validity.non_product_code'), 2_950);
    assert.equal(flagged('validity.unknown_country'), 0);
  });
  it('no line-level check fails on any day of the real data', () => {
    const failing = [...totals].filter(([, s]) => s.worst === 'fail').map(([c]) => c);
    assert.deepEqual(failing, []);
  });

  it('names the non-product codes of the issue among the examples', async () => {
    const [{ codes }] = await wh.query<{ codes: string }>(`SELECT STRING_AGG(DISTINCT stock_code, ',') AS codes FROM orders_raw
      WHERE SUBSTR(stock_code, 1, 1) NOT IN ('0','1','2','3','4','5','6','7','8','9') AND stock_code NOT LIKE 'DCGS%'`);
    for (const c of ['POST', 'DOT', 'M', 'C2', 'D', 'S', 'BANK CHARGES', 'AMAZONFEE', 'CRUK']) assert.ok(codes.split(',').includes(c), c);
  });

  for (const [date, invoice, code] of [['2011-01-18', '541431', '23166'], ['2011-12-09', '581483', '23843']]) {
    it(`flags the huge order ${invoice} on ${date} as an outlier, and the day does not fail`, async () => {
      const results = await runDayChecks(wh, date, t, new Date('2026-01-01T00:00:00Z'));
      const outliers = results.find((r) => r.check === 'outliers.quantity_or_revenue');
      assert.deepEqual(outliers?.examples[0], { invoice_no: invoice, stock_code: code });
      assert.deepEqual(results.filter((r) => r.severity === 'fail').map((r) => r.check), []);
      const freshness = results.find((r) => r.check === 'freshness.stream');
      assert.equal(freshness?.severity, 'pass');
      assert.match(freshness?.detail ?? '', /no stream data/);
    });
  }
});

describe('data-quality thresholds and quarantine', () => {
  it('dq_results keeps one set per day and the report lists the worst days first', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    const limit = { warn: 1, fail: 2 };
    const day = (date: string, ...observed: number[]) =>
      ({ date, results: observed.map((o, i) => result(`validity.c${i}`, 'orders_raw', o, limit, { detail: 'x' })) });
    try {
      await storeDqResults(wh, day('2011-01-03', 3, 0), null);
      await storeDqResults(wh, day('2011-01-03', 0, 0), null); // the re-run replaces the failing set
      await storeDqResults(wh, day('2011-01-04', 2, 0), null);
      await storeDqResults(wh, day('2011-01-05', 3, 1.5), null);
      const report = await dqReport(wh, '2011-01-01', '2011-01-31');
      assert.deepEqual(report.map((d) => [d.date, d.worst, d.fails, d.warns]),
        [['2011-01-05', 'fail', 1, 1], ['2011-01-04', 'warn', 0, 1], ['2011-01-03', 'pass', 0, 0]]);
      const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM dq_results');
      assert.equal(n, 6);
    } finally {
      await wh.close();
    }
  });

  it('severity is fail above fail, warn above warn, else pass', () => {
    assert.equal(severityOf(0.2, { warn: 0.1, fail: 0.2 }), 'warn');
    assert.equal(severityOf(0.21, { warn: 0.1, fail: 0.2 }), 'fail');
    assert.equal(severityOf(0.1, { warn: 0.1, fail: 0.2 }), 'pass');
  });
  it('DQ_THRESHOLDS_FILE overrides the file, and a broken file is a clear error', () => {
    assert.match(thresholdsFile({}), /config\/quality-thresholds\.json$/);
    const bad = writeCsv(['{"checks": {"x": {"warn": 2, "fail": 1}}, "outliers": {}, "volume": {}, "examples": 1}'], { name: 't.json' });
    assert.equal(thresholdsFile({ DQ_THRESHOLDS_FILE: bad }), bad);
    assert.throws(() => loadThresholds(bad), InvalidThresholdsError);
  });
  it('checks orders_stream for a streamed day and measures its freshness', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      await loadOrdersFile(wh, writeCsv(realDataHead(200)));
      // The loaded lines streamed again as new lines (no source identity), plus one more copy.
      await wh.ensureSchema(STREAM_TABLES);
      await wh.execute(`INSERT INTO orders_stream SELECT 'e' || CAST(line_no AS VARCHAR), 'm' || CAST(line_no AS VARCHAR), invoice_no,
        stock_code, description, quantity, invoice_ts, invoice_date, unit_price, customer_id, country, is_cancellation,
        quantity * unit_price, FALSE, NULL, NULL, '1', 'test', NULL, TIMESTAMP '2026-01-01 10:00:00', NULL, NULL FROM orders_raw`);
      await wh.execute(`INSERT INTO orders_stream SELECT 'copy', 'm-copy', invoice_no, stock_code, description, quantity, invoice_ts, invoice_date,
        unit_price, customer_id, country, is_cancellation, line_value, high_value, predicted_revenue, model_version, schema_version,
        source, published_at, stored_at, source_sha256, source_line_no FROM orders_stream WHERE event_id = 'e2'`);
      const results = await runDayChecks(wh, '2010-12-01', loadThresholds(), new Date('2026-01-01T10:30:00Z'));
      const stream = results.filter((r) => r.source === 'orders_stream');
      const dup = stream.find((r) => r.check === 'uniqueness.duplicate_lines');
      assert.equal(dup?.flaggedLines, 1);
      assert.equal(stream.find((r) => r.check === 'freshness.stream')?.observed, 30);
      assert.equal(stream.find((r) => r.check === 'freshness.stream')?.severity, 'warn');
      assert.equal(stream.length, 10, 'eight line rules, duplicates, freshness');
    } finally {
      await wh.close();
    }
  });

  it('attributes a quarantined line to the day of the lines around it', async () => {
    const head = realDataHead(40);
    const lines = [...head.slice(0, 20), '536999,broken,line', ...head.slice(20)];
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      await loadOrdersFile(wh, writeCsv(lines));
      const results = await runDayChecks(wh, '2010-12-01', loadThresholds());
      const q = results.find((r) => r.check === 'schema.quarantined_lines');
      assert.equal(q?.observed, 1);
      assert.equal(q?.severity, 'warn');
      assert.deepEqual(q?.examples, [{ invoice_no: '536999', stock_code: 'broken' }]);
    } finally {
      await wh.close();
    }
  });
});
