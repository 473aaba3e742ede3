/**
 * One table of cases through the three ways an order line comes in (issue 15, point 4): the
 * prediction API (Fastify inject), the stream's validator and the ingest's line parser (the CSV
 * record reader, then parseOrderLine). All three apply lib/input-rules.ts; each row says what
 * each path must do with one field's value, set on an otherwise valid line. A refusal names the
 * field (the API: a 400, never a 500). `undefined` = the path has no such field: the API takes no
 * invoice, stock code or date, only the Hour and DayOfWeek a date gives; the stream and the CSV
 * take a date instead. Where the paths differ, the row says why.
 */
import * as assert from 'node:assert/strict';
import { buildApp, type App } from '../api/app';
import { loadConfig } from '../lib/config';
import { parseRecord } from '../lib/ingest/csv';
import { EXPECTED_HEADER, parseOrderLine } from '../lib/ingest/orders';
import { MAX_ABS_QUANTITY, MAX_CUSTOMER_ID, MAX_UNIT_PRICE } from '../lib/input-rules';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { validateMessage } from '../lib/stream/message';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeTemporal } from './support/fakes';
import { fakeModel, smallForest } from './support/model-fixtures';

type Field = (typeof EXPECTED_HEADER)[number] | 'Hour' | 'DayOfWeek';

interface Case {
  what: string;
  field: Field;
  value: unknown;
  /** Accepted (true), refused naming the field (false), or the path has no such field (undefined). */
  api: boolean | undefined;
  stream: boolean | undefined;
  ingest: boolean | undefined;
}

const SQL = "'; DROP TABLE orders_raw; --";
const HUGE = 'x'.repeat(10_240);

/** [what, field, value, api, stream, ingest] */
const TABLE: Array<[string, Field, unknown, boolean | undefined, boolean | undefined, boolean | undefined]> = [
  ['a typical quantity', 'Quantity', 6, true, true, true],
  ['a fractional quantity', 'Quantity', 2.5, false, false, false],
  ['a zero quantity', 'Quantity', 0, false, false, false],
  // A stored line may be negative (cancellations, and the data's 1,336 adjustments); a prediction is of a sale.
  ['a negative quantity', 'Quantity', -1, false, true, true],
  ['the largest quantity', 'Quantity', MAX_ABS_QUANTITY, true, true, true],
  ['a quantity over the bound', 'Quantity', MAX_ABS_QUANTITY + 1, false, false, false],
  ['a huge quantity', 'Quantity', 1e21, false, false, false],
  ['NaN as quantity', 'Quantity', 'NaN', false, false, false],
  ['Infinity as quantity', 'Quantity', 'Infinity', false, false, false],
  ['a hex quantity', 'Quantity', '0x10', false, false, false],
  // JSON has types and a CSV has none: "6" is a string in a body, and the text 6 in a file.
  ['a quantity as text', 'Quantity', '6', false, false, true],
  ['a SQL fragment as quantity', 'Quantity', `1${SQL}`, false, false, false],
  ['no quantity (null / empty)', 'Quantity', null, false, false, false],

  ['a zero price', 'UnitPrice', 0, true, true, true],
  // The data's "Adjust bad debt" lines: stored as they are, never predicted.
  ['a negative price', 'UnitPrice', -11_062.06, false, true, true],
  ['the largest price', 'UnitPrice', MAX_UNIT_PRICE, true, true, true],
  ['a price over the bound', 'UnitPrice', MAX_UNIT_PRICE + 0.01, false, false, false],
  // A stored price is exact to 9 places (NUMERIC); a prediction takes the float as it comes.
  ['a price with 10 decimals', 'UnitPrice', 1.0000000001, true, false, false],
  ['a price in exponent form', 'UnitPrice', '1e3', false, false, false],
  ['NaN as price', 'UnitPrice', 'NaN', false, false, false],
  ['a SQL fragment as price', 'UnitPrice', `2.55${SQL}`, false, false, false],

  ['the data set\'s date form', 'InvoiceDate', '6/15/2011 10:30', undefined, true, true],
  // The stream also takes ISO; the CSV is the data set's format only.
  ['an ISO date-time', 'InvoiceDate', '2011-06-15T10:30:00', undefined, true, false],
  ['February 30th', 'InvoiceDate', '2/30/2011 10:00', undefined, false, false],
  ['February 30th (ISO)', 'InvoiceDate', '2011-02-30T10:00:00', undefined, false, false],
  ['hour 24', 'InvoiceDate', '6/15/2011 24:00', undefined, false, false],
  ['month 13', 'InvoiceDate', '13/1/2011 10:00', undefined, false, false],
  ['a year before 2000', 'InvoiceDate', '6/15/1999 10:30', undefined, false, false],
  ['a year after 2100', 'InvoiceDate', '6/15/2101 10:30', undefined, false, false],
  ['a date without a time', 'InvoiceDate', '2011-06-15', undefined, false, false],
  ['"now"', 'InvoiceDate', 'now', undefined, false, false],
  ['a SQL fragment as date', 'InvoiceDate', `6/15/2011 10:30${SQL}`, undefined, false, false],

  ['an invoice number', 'InvoiceNo', '536365', undefined, true, true],
  ['a cancellation invoice', 'InvoiceNo', 'C536379', undefined, true, true],
  ['an adjustment invoice', 'InvoiceNo', 'A563186', undefined, true, true],
  ['an empty invoice number', 'InvoiceNo', '', undefined, false, false],
  ['a lower-case invoice number', 'InvoiceNo', 'c536379', undefined, false, false],
  ['a 16-digit invoice number', 'InvoiceNo', '5363650000000000', undefined, false, false],
  ['a SQL fragment as invoice', 'InvoiceNo', `536365${SQL}`, undefined, false, false],
  ['a NUL in the invoice number', 'InvoiceNo', '5363\u000065', undefined, false, false],
  ['a 10 kB invoice number', 'InvoiceNo', HUGE, undefined, false, false],

  ['a stock code with a space', 'StockCode', 'BANK CHARGES', undefined, true, true],
  ['a lower-case stock code', 'StockCode', 'gift_0001_40', undefined, true, true],
  ['an empty stock code', 'StockCode', '', undefined, false, false],
  ['a SQL fragment as stock code', 'StockCode', "85123A' OR '1'='1", undefined, false, false],
  ['a NUL in the stock code', 'StockCode', '85123\u0000A', undefined, false, false],
  ['an emoji stock code', 'StockCode', '🎁', undefined, false, false],
  ['a 10 kB stock code', 'StockCode', HUGE, undefined, false, false],

  ['a customer', 'CustomerID', 17850, true, true, true],
  ['no customer (null / empty)', 'CustomerID', null, true, true, true],
  ['the largest customer id', 'CustomerID', MAX_CUSTOMER_ID, true, true, true],
  ['customer 0', 'CustomerID', 0, false, false, false],
  ['a negative customer', 'CustomerID', -1, false, false, false],
  ['a fractional customer', 'CustomerID', 2.5, false, false, false],
  ['a 13-digit customer', 'CustomerID', MAX_CUSTOMER_ID + 1, false, false, false],
  // A message may carry the CSV's text form ("17850"); a prediction body takes a number.
  ['a customer as text', 'CustomerID', '17850', false, true, true],
  ['a SQL fragment as customer', 'CustomerID', `17850${SQL}`, false, false, false],

  ['a country', 'Country', 'United Kingdom', true, true, true],
  ['a country in another script (right to left)', 'Country', 'مصر', true, true, true],
  ['an empty country', 'Country', '', false, false, false],
  ['a NUL in the country', 'Country', 'United\u0000Kingdom', false, false, false],
  ['a right-to-left override', 'Country', '\u202Eeniarku', false, false, false],
  ['an emoji country', 'Country', '🇬🇧', false, false, false],
  ['a SQL fragment as country', 'Country', `France${SQL}`, false, false, false],
  ['a 10 kB country', 'Country', HUGE, false, false, false],

  ['an hour', 'Hour', 23, true, undefined, undefined],
  ['hour 24', 'Hour', 24, false, undefined, undefined],
  ['a fractional hour', 'Hour', 10.5, false, undefined, undefined],
  ['an hour as text', 'Hour', '10', false, undefined, undefined],
  ['day 7', 'DayOfWeek', 7, false, undefined, undefined],
  ['a negative day', 'DayOfWeek', -1, false, undefined, undefined],
];

const CASES: Case[] = TABLE.map(([what, field, value, api, stream, ingest]) => ({ what, field, value, api, stream, ingest }));

const API_BASE = { Quantity: 6, UnitPrice: 2.55, Hour: 8, DayOfWeek: 2, Country: 'United Kingdom', CustomerID: 17850 };
const LINE_BASE = {
  InvoiceNo: '536365', StockCode: '85123A', Description: 'WHITE HANGING HEART T-LIGHT HOLDER', Quantity: 6,
  InvoiceDate: '6/15/2011 10:30', UnitPrice: 2.55, CustomerID: 17850, Country: 'United Kingdom',
};

/** The CSV text of a value: JSON null is an empty field, anything else its text. */
const csvText = (v: unknown): string => (v === null ? '' : String(v));
const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

function csvLine(c: Case): string {
  return EXPECTED_HEADER.map((col) => csvField(csvText(col === c.field ? c.value : LINE_BASE[col]))).join(',');
}

describe('input rules: one table through the API, the stream and the ingest', function () {
  this.timeout(60_000);
  let wh: DuckDBWarehouse;
  let app: App;

  before(async () => {
    const storeDir = tempDir();
    const config = { ...loadConfig(), model: { ...loadConfig().model, storeDir, reloadIntervalMs: 0 } };
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await registerModel(wh, new FileModelStore(storeDir), fakeModel('rf-rules', 5, { artifact: await smallForest(1, 10) }));
    await promote(wh, 'rf-rules');
    app = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await wh.close();
  });

  const verdict = (v: boolean | undefined) => (v === undefined ? 'n/a' : v ? 'accepts' : 'refuses');

  for (const c of CASES) {
    it(`${c.field}: ${c.what} — API ${verdict(c.api)}, stream ${verdict(c.stream)}, ingest ${verdict(c.ingest)}`, async () => {
      const names = new RegExp(`\\b${c.field}\\b`);
      if (c.api !== undefined) {
        const res = await app.inject({ method: 'POST', url: '/predict', payload: { ...API_BASE, [c.field]: c.value } });
        assert.equal(res.statusCode, c.api ? 200 : 400, res.body.slice(0, 300));
        if (!c.api) assert.match(res.json<{ message: string }>().message, names);
      }
      if (c.stream !== undefined) {
        const v = validateMessage(Buffer.from(JSON.stringify({ event_id: 'evt-rules', ...LINE_BASE, [c.field]: c.value })));
        assert.equal(v.ok, c.stream, v.ok ? 'accepted' : v.reason);
        // A 10 kB field is refused by the message size limit before any field is read.
        if (!v.ok) assert.match(v.reason, c.value === HUGE ? /payload too large/ : names);
      }
      if (c.ingest !== undefined) {
        const record = parseRecord(csvLine(c), 2);
        assert.ok(record.fields, record.error);
        const parsed = parseOrderLine(record.fields, 'f'.repeat(64), 2);
        assert.equal(parsed.ok, c.ingest, parsed.ok ? 'loaded' : parsed.reason);
        if (!parsed.ok) assert.match(parsed.reason, names);
        // What is loaded is the text as written: never rewritten, never executed.
        if (parsed.ok && c.field !== 'Quantity' && c.field !== 'CustomerID' && c.field !== 'InvoiceDate' && typeof c.value === 'string') {
          const column = { InvoiceNo: 'invoice_no', StockCode: 'stock_code', Country: 'country', UnitPrice: 'unit_price', Description: 'description' }[c.field as string];
          if (column) assert.equal(parsed.row[column], c.value);
        }
      }
    });
  }

  it('the API refuses a whole batch over one bad item, naming the item and the field', async () => {
    const res = await app.inject({ method: 'POST', url: '/predict/batch', payload: { items: [API_BASE, { ...API_BASE, Quantity: 2.5 }] } });
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /items\.1\.Quantity/);
  });
});
