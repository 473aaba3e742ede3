import { strict as assert } from 'node:assert';
import { IngestError, loadOrdersFile } from '../lib/ingest/load';
import { parseRecord, readCsvRecords } from '../lib/ingest/csv';
import { parseInvoiceDate } from '../lib/ingest/orders';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { HEADER, writeCsv } from './support/fixtures';

const GOOD = [
  '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom',
  '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,12/1/2010 9:41,2.1,15311,United Kingdom',
  '536477,22041,"RECORD FRAME 7"" SINGLE SIZE ",48,12/1/2010 12:27,2.1,16210,United Kingdom',
  'C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom',
  '536414,22139,,56,12/1/2010 11:52,0,,United Kingdom',
];

describe('CSV reader', () => {
  it('splits quoted fields with commas, doubled quotes and trailing spaces', () => {
    assert.deepEqual(parseRecord(GOOD[2], 4).fields, ['536477', '22041', 'RECORD FRAME 7" SINGLE SIZE ', '48', '12/1/2010 12:27', '2.1', '16210', 'United Kingdom']);
    assert.deepEqual(parseRecord('a,,c,', 1).fields, ['a', '', 'c', '']);
  });

  it('reads one record per physical line, so a stray quote cannot swallow the next lines', async () => {
    const recs = [];
    for await (const r of readCsvRecords(['h\r\n"broken,x\nnext,', 'line\nlast'])) recs.push(r);
    assert.deepEqual(recs.map((r) => [r.lineNo, r.fields, r.error]), [
      [1, ['h'], undefined],
      [2, undefined, 'unterminated quoted field'],
      [3, ['next', 'line'], undefined],
      [4, ['last'], undefined],
    ]);
  });

  it('parses M/D/YYYY H:MM as written, with no time-zone shift, and rejects impossible dates', () => {
    assert.equal(parseInvoiceDate('12/9/2011 12:50')?.iso, '2011-12-09T12:50:00.000Z');
    assert.equal(parseInvoiceDate('2/30/2011 10:00'), undefined);
    assert.equal(parseInvoiceDate('13/1/2011 10:00'), undefined);
    assert.equal(parseInvoiceDate('12/1/2010 24:00'), undefined);
    assert.equal(parseInvoiceDate('2010-12-01 08:26'), undefined);
  });
});

describe('ingest into DuckDB', () => {
  let wh: DuckDBWarehouse;
  beforeEach(() => (wh = new DuckDBWarehouse({ path: ':memory:' })));
  afterEach(() => wh.close());

  it('loads typed rows: cancellations flagged, empty customer and description are NULL', async () => {
    const res = await loadOrdersFile(wh, writeCsv([HEADER, ...GOOD]));
    assert.equal(res.status, 'loaded');
    assert.equal(res.rowsLoaded, 5);
    const rows = await wh.query('SELECT * FROM orders_raw ORDER BY line_no');
    assert.deepEqual(rows[3], {
      invoice_no: 'C536379', stock_code: 'D', description: 'Discount', quantity: -1,
      invoice_ts: '2010-12-01T09:41:00.000Z', invoice_date: '2010-12-01', unit_price: '27.5',
      customer_id: 14527, country: 'United Kingdom', is_cancellation: true,
      source_sha256: res.sourceSha256, line_no: 5,
    });
    assert.equal(rows[4].customer_id, null);
    assert.equal(rows[4].description, null);
    assert.equal(rows[2].description, 'RECORD FRAME 7" SINGLE SIZE ');
  });

  it('quarantines malformed lines with line number and reason, and loads the rest', async () => {
    const file = writeCsv([
      HEADER,
      GOOD[0],
      '536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850', // 7 columns
      '536367,84879,ASSORTED BIRD ORNAMENT,32,2010-12-01 08:34,1.69,13047,United Kingdom',
      '536367,22745,POPPY\'S PLAYHOUSE,six,12/1/2010 8:34,2.1,13047,United Kingdom',
      '536367,22748,POPPY\'S KITCHEN,6,12/1/2010 8:34,two,13047,United Kingdom',
      '536368,22960,"JAM MAKING SET,6,12/1/2010 8:34,4.25,13047,United Kingdom', // unterminated quote
      GOOD[1],
    ]);
    const res = await loadOrdersFile(wh, file);
    assert.equal(res.rowsLoaded, 2);
    assert.equal(res.rowsQuarantined, 5);
    const q = await wh.query<{ line_no: number; reason: string; raw_line: string }>(
      'SELECT line_no, reason, raw_line FROM orders_quarantine ORDER BY line_no',
    );
    assert.deepEqual(q.map((r) => r.line_no), [3, 4, 5, 6, 7]);
    assert.match(q[0].reason, /expected 8 columns, got 7/);
    assert.match(q[1].reason, /InvoiceDate/);
    assert.match(q[2].reason, /Quantity is not an integer: "six"/);
    assert.match(q[3].reason, /UnitPrice/);
    assert.match(q[4].reason, /unterminated quoted field/);
    assert.equal(q[0].raw_line, '536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850');
  });

  it('is idempotent by content: the same CSV again, even gzip-compressed elsewhere, is a no-op', async () => {
    const lines = [HEADER, ...GOOD];
    const first = await loadOrdersFile(wh, writeCsv(lines));
    const again = await loadOrdersFile(wh, writeCsv(lines, { gzip: true }));
    assert.equal(first.status, 'loaded');
    assert.equal(again.status, 'already-loaded');
    assert.equal(again.sourceSha256, first.sourceSha256);
    assert.equal(again.rowsLoaded, 5);
    const forced = await loadOrdersFile(wh, writeCsv(lines), { force: true });
    assert.equal(forced.status, 'loaded');
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_raw');
    assert.equal(n, 5);
    const [{ loads }] = await wh.query<{ loads: number }>('SELECT COUNT(*) AS loads FROM ingest_loads');
    assert.equal(loads, 1);
  });

  it('fails on a wrong header with a message naming the expected columns', async () => {
    const file = writeCsv(['Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country', GOOD[0]]);
    await assert.rejects(loadOrdersFile(wh, file), (err: Error) => {
      assert.ok(err instanceof IngestError);
      assert.match(err.message, /expected columns InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country/);
      return true;
    });
    const [{ n }] = await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_raw');
    assert.equal(n, 0);
  });

  it('fails on a missing file or an empty file with a clear message', async () => {
    await assert.rejects(loadOrdersFile(wh, '/nonexistent/orders.csv'), /data file not found: \/nonexistent\/orders.csv/);
    await assert.rejects(loadOrdersFile(wh, writeCsv([])), /wrong header: expected columns InvoiceNo/);
  });
});
