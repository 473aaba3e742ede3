/**
 * One order fact (lib/order-lines.ts): the KPIs of a day are those of its order lines, loaded and
 * streamed, with a replayed line counted once. Expectations come from this file's own arithmetic
 * on the CSV lines and on the published message bodies (BigInt, own parser), and from
 * test/support/reference-kpis.ts; nothing is shared with the SQL under test.
 *
 * No servers: the view's rules on DuckDB, the migrations of an older warehouse, and every day of
 * the real data against the reference. @integration: lines published to the Pub/Sub emulator and
 * stored by the real StreamConsumer, on DuckDB and on the BigQuery emulator.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createPredictionScorer } from '../lib/analytics/predictions';
import { computeDailyReport, datesWithData, DAILY_METRICS, storeDailyReport, type DailyKpis } from '../lib/analytics/daily';
import { dailyMetricsCsv } from '../lib/analytics/report-csv';
import { loadOrdersFile } from '../lib/ingest/load';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { ORDER_LINES, ORDER_LINES_SCHEMA } from '../lib/order-lines';
import { duplicateCheck, lineRuleChecks, runDayChecks } from '../lib/quality/checks';
import { loadThresholds } from '../lib/quality/thresholds';
import { StreamConsumer, type InboundMessage } from '../lib/stream/consumer';
import { generateLines, GENERATED_INVOICE_BASE, isGeneratedInvoice, take } from '../lib/stream/generator';
import { validateMessage, type OrderLineMessage } from '../lib/stream/message';
import { publishLines, type OutboundLine } from '../lib/stream/publisher';
import { createPubSubSource } from '../lib/stream/pubsub-source';
import { planReplay } from '../lib/stream/replay';
import { ORDERS_STREAM } from '../lib/stream/tables';
import { ensureStreamTopology, type StreamNames } from '../lib/stream/topology';
import type { BigQueryWarehouse } from '../lib/warehouse/bigquery';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { type TableDef, type Warehouse, WarehouseSchemaError } from '../lib/warehouse/types';
import { describeSources } from '../tools/commands/analytics';
import { TEST_PUBSUB_PROJECT, testEventBus } from './hooks';
import { realDataFile, realDataHead, tempDir, writeCsv } from './support/fixtures';
import { referenceKpis, splitCsvLine } from './support/reference-kpis';
import { fakeModel, smallForest } from './support/model-fixtures';
import { handMadeProfile } from './support/stream-profiles';

// 2010-12-01 whole (3,108 lines, 44 of them exact repeats of another) and the start of 2010-12-02 (892 lines).
const FIXTURE = realDataHead(4_001);
const D1 = '2010-12-01';
const D2 = '2010-12-02';
/** A day with no loaded lines: the Monday after the data ends. */
const NEW_DAY = '2011-12-12';
const D1_LINES = 3_108;

// ---- the independent expectation ----------------------------------------------------------

interface Line { invoice: string; quantity: number; price: string; customer: string; day: string }

const fromCsv = (lines: readonly string[]): Line[] => lines.slice(1).filter((l) => l !== '').map((l) => {
  const [invoice, , , qty, date, price, customer] = splitCsvLine(l);
  const [m, d, y] = date.split(' ')[0].split('/');
  return { invoice, quantity: Number(qty), price, customer, day: `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}` };
});

const fromMessage = (b: OrderLineMessage): Line => ({
  invoice: b.InvoiceNo, quantity: b.Quantity, price: String(b.UnitPrice), customer: b.CustomerID === null ? '' : String(b.CustomerID),
  day: b.InvoiceDate.slice(0, 10),
});

/** A decimal text as an integer count of 10^-9. */
function nanos(text: string): bigint {
  const neg = text.startsWith('-');
  const [w, f = ''] = text.replace('-', '').split('.');
  const v = BigInt(w + f.padEnd(9, '0'));
  return neg ? -v : v;
}

/** n / 10^places as canonical decimal text, as the warehouse returns NUMERIC ("12.3", "5"). */
function text(n: bigint, places: number): string {
  const neg = n < 0n;
  const s = (neg ? -n : n).toString().padStart(places + 1, '0');
  const out = `${s.slice(0, s.length - places)}.${s.slice(s.length - places)}`.replace(/0+$/, '').replace(/\.$/, '');
  return `${neg ? '-' : ''}${out}`;
}

type Expected = Pick<DailyKpis, 'orders' | 'gross_revenue' | 'refunds' | 'cancelled_orders' | 'unique_customers' | 'items_sold' | 'avg_order_value' | 'total_lines'>;

/** The KPI definitions of docs/analytics.md, on plain lines. */
function expectedKpis(lines: readonly Line[], day: string): Expected {
  const orders = new Set<string>();
  const cancelled = new Set<string>();
  const customers = new Set<string>();
  let gross = 0n;
  let refunds = 0n;
  let items = 0;
  let total = 0;
  for (const l of lines) {
    if (l.day !== day) continue;
    total += 1;
    const value = BigInt(l.quantity) * nanos(l.price);
    if (l.invoice.startsWith('C')) {
      cancelled.add(l.invoice);
      refunds += value < 0n ? -value : value;
    } else if (l.quantity > 0 && nanos(l.price) > 0n) {
      orders.add(l.invoice);
      gross += value;
      items += l.quantity;
      if (l.customer !== '') customers.add(l.customer);
    }
  }
  // gross / orders to the penny, half-up: gross is in 10^-9, so divide by orders x 10^7.
  const div = BigInt(orders.size) * 10_000_000n;
  const aov = orders.size === 0 ? 0n : gross / div + ((gross % div) * 2n >= div ? 1n : 0n);
  return {
    orders: orders.size, gross_revenue: text(gross, 9), refunds: text(refunds, 9), cancelled_orders: cancelled.size,
    unique_customers: customers.size, items_sold: items, avg_order_value: text(aov, 2), total_lines: total,
  };
}

function pick(k: DailyKpis): Expected {
  const { orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold, avg_order_value, total_lines } = k;
  return { orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold, avg_order_value, total_lines };
}

const sources = (k: DailyKpis) => ({ batch_orders: k.batch_orders, batch_lines: k.batch_lines, stream_orders: k.stream_orders, stream_lines: k.stream_lines });

/** Sale invoices of a day among lines. */
const saleInvoices = (lines: readonly Line[], day: string) =>
  new Set(lines.filter((l) => l.day === day && !l.invoice.startsWith('C') && l.quantity > 0 && nanos(l.price) > 0n).map((l) => l.invoice));

/** `n` generated lines (their own invoice range), all moved to `day` at their own time of day. */
function generatedOn(day: string, n: number, seed: number): OrderLineMessage[] {
  return [...take(generateLines(handMadeProfile([7, 12, 1, 20]), { seed }), n)].map((l) => ({ ...l.body, InvoiceDate: `${day} ${l.body.InvoiceDate.slice(11)}` }));
}

// ---- the consumer without Pub/Sub (unit) ------------------------------------------------------

/** Feed bodies straight into the real consumer core, as one delivery each. */
async function consume(wh: Warehouse, bodies: readonly OrderLineMessage[], source: string): Promise<void> {
  const consumer = new StreamConsumer({ warehouse: wh, deadLetter: async () => undefined, log: () => undefined });
  const messages: InboundMessage[] = bodies.map((b) => ({
    id: randomUUID(), data: Buffer.from(JSON.stringify(b)), attributes: { schema_version: '1', source, published_at: new Date().toISOString() },
    publishTime: new Date(), ack: () => undefined, nack: () => undefined,
  }));
  for (let i = 0; i < messages.length; i += 2_000) await consumer.processBatch(messages.slice(i, i + 2_000));
  assert.equal(consumer.counts.stored, bodies.length, 'every line stored');
}

describe('one order fact: order_lines on DuckDB', function () {
  this.timeout(120_000);
  const csvLines = fromCsv(FIXTURE);
  let wh: DuckDBWarehouse;

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await loadOrdersFile(wh, writeCsv(FIXTURE));
  });
  after(async () => wh?.close());

  it('replayed lines carry their identity and count once; the 44 exact repeats of the day still count', async () => {
    const day = FIXTURE.slice(1).filter((l) => l.includes(',12/1/2010 '));
    assert.deepEqual([day.length, day.length - new Set(day).size], [D1_LINES, 44]);
    const plan = await planReplay(wh, D1, 1e9);
    assert.equal(plan.lines.length, D1_LINES);
    const bodies = plan.lines.map((l) => l.body as OrderLineMessage);
    assert.ok(bodies.every((b) => /^[0-9a-f]{64}$/.test(String(b.source_sha256)) && Number(b.source_line_no) >= 2), 'identity on every message');
    await consume(wh, bodies, 'replay');
    const { kpis } = await computeDailyReport(wh, D1);
    assert.deepEqual(pick(kpis), expectedKpis(csvLines, D1));
    assert.deepEqual(sources(kpis), { batch_orders: kpis.orders, batch_lines: D1_LINES, stream_orders: 0, stream_lines: 0 });
    const [{ stored }] = await wh.query<{ stored: number }>('SELECT COUNT(*) AS stored FROM orders_stream WHERE invoice_date = CAST(@d AS DATE)', { d: D1 });
    assert.equal(stored, D1_LINES, 'the replay is stored, just not counted twice');
  });

  it('data quality reads the same lines: the replayed day has its 44 exact copies, not 3,108 more', async () => {
    const t = loadThresholds();
    const dup = await duplicateCheck(wh, 'order_lines', D1, t);
    assert.equal(dup.flaggedLines, 44);
    const rules = await lineRuleChecks(wh, 'order_lines', D1, t);
    assert.match(rules[0].detail, new RegExp(`of ${D1_LINES} lines$`));
    // The stream's own checks still look at the stream by itself.
    const results = await runDayChecks(wh, D1, t);
    const streamDup = results.find((r) => r.source === 'orders_stream' && r.check === 'uniqueness.duplicate_lines');
    assert.equal(streamDup?.flaggedLines, 44);
  });

  it('a streamed line equal in content to a loaded one but without its identity is another line', async () => {
    const { kpis: before } = await computeDailyReport(wh, D1);
    const [first] = (await planReplay(wh, D1, 1e9)).lines;
    const copy = { ...(first.body as OrderLineMessage), event_id: 'no-identity-copy', source_sha256: undefined, source_line_no: undefined };
    await consume(wh, [copy], 'test');
    const { kpis } = await computeDailyReport(wh, D1);
    assert.equal(kpis.total_lines, before.total_lines + 1);
    assert.deepEqual(sources(kpis), { batch_orders: before.orders, batch_lines: D1_LINES, stream_orders: 1, stream_lines: 1 });
    await wh.execute("DELETE FROM orders_stream WHERE event_id = 'no-identity-copy'");
  });

  it('a replayed line whose file is not loaded counts as a streamed line (and is taken over when the file is)', async () => {
    const ghost = { ...generatedOn(D2, 1, 3)[0], event_id: 'ghost-1', source_sha256: 'f'.repeat(64), source_line_no: 7 };
    await consume(wh, [ghost], 'replay');
    const { kpis } = await computeDailyReport(wh, D2);
    assert.equal(kpis.stream_lines, 1);
    // The same identity in orders_raw (a file loaded later): the streamed copy no longer counts.
    await wh.execute(`INSERT INTO orders_raw SELECT invoice_no, stock_code, description, quantity, invoice_ts, invoice_date, unit_price,
      customer_id, country, is_cancellation, source_sha256, source_line_no FROM orders_stream WHERE event_id = 'ghost-1'`);
    const { kpis: after } = await computeDailyReport(wh, D2);
    assert.deepEqual([after.total_lines, after.stream_lines, after.batch_lines], [kpis.total_lines, 0, kpis.batch_lines + 1]);
    await wh.execute(`DELETE FROM orders_raw WHERE source_sha256 = '${'f'.repeat(64)}'`);
    await wh.execute("DELETE FROM orders_stream WHERE event_id = 'ghost-1'");
  });

  it('predicted vs actual scores the streamed orders of a day with the loaded ones', async () => {
    const bodies = generatedOn(D2, 120, 9);
    await consume(wh, bodies, 'generator');
    const store = new FileModelStore(tempDir());
    await registerModel(wh, store, fakeModel('rf-order-fact', 100, { artifact: await smallForest(3, 10) }));
    await promote(wh, 'rf-order-fact');
    const outcome = await createPredictionScorer(wh, store).scoreDay(D2);
    const { kpis } = await computeDailyReport(wh, D2);
    assert.deepEqual(pick(kpis), expectedKpis([...csvLines, ...bodies.map(fromMessage)], D2));
    assert.ok(kpis.stream_orders > 0);
    assert.ok(outcome.status === 'scored');
    assert.deepEqual([outcome.orders, outcome.lines, outcome.actualTotal], [kpis.orders, kpis.sale_lines, kpis.gross_revenue]);
    const [{ n }] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM order_predictions WHERE invoice_date = CAST(@d AS DATE) AND invoice_no LIKE '9%'`, { d: D2 });
    assert.equal(n, kpis.stream_orders, 'one prediction row per streamed order');
  });

  it('generated invoices are 9-digit numbers from 900000000 that validate, never a real invoice number', () => {
    const bodies = [...take(generateLines(handMadeProfile([7, 12, 1, 20]), { seed: 5 }), 500)].map((l) => l.body);
    assert.equal(bodies[0].InvoiceNo.replace('C', ''), String(GENERATED_INVOICE_BASE));
    assert.ok(bodies.every((b) => isGeneratedInvoice(b.InvoiceNo) && validateMessage(Buffer.from(JSON.stringify(b))).ok));
    assert.ok(bodies.some((b) => b.InvoiceNo.startsWith('C9')), 'cancellations keep the C');
    assert.ok(fromCsv(FIXTURE).every((l) => !isGeneratedInvoice(l.invoice)));
  });

  it('validation: identity fields come as a pair, a 64-hex SHA-256 and a positive line number', () => {
    const [body] = generatedOn(NEW_DAY, 1, 1);
    const check = (extra: Record<string, unknown>) => validateMessage(Buffer.from(JSON.stringify({ ...body, ...extra })));
    assert.ok(check({ source_sha256: 'a'.repeat(64), source_line_no: 12 }).ok);
    assert.ok(check({ source_sha256: null, source_line_no: null }).ok);
    for (const bad of [{ source_sha256: 'a'.repeat(64) }, { source_line_no: 3 }, { source_sha256: 'xyz', source_line_no: 3 }, { source_sha256: 'a'.repeat(64), source_line_no: 0 }]) {
      const v = check(bad);
      assert.ok(!v.ok && /source_/.test(v.reason), JSON.stringify(bad));
    }
  });

  it('the sources line of `analytics run` and the CSV rows', async () => {
    const { kpis } = await computeDailyReport(wh, D1);
    assert.equal(describeSources({ batch_orders: 44, batch_lines: 1234, stream_orders: 0, stream_lines: 0 }), 'sources  batch 44 orders / 1,234 lines, stream 0 / 0');
    const csv = dailyMetricsCsv(kpis);
    for (const [k, v] of Object.entries(sources(kpis))) assert.match(csv, new RegExp(`^${k},${v}$`, 'm'));
  });

  it('the view is one name on the warehouse, created with orders_raw and orders_stream', async () => {
    const [{ n }] = await wh.query<{ n: number }>("SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = 'order_lines' AND table_type = 'VIEW'");
    assert.equal(n, 1);
    assert.deepEqual(ORDER_LINES_SCHEMA.map((o) => o.name), ['orders_raw', 'orders_stream', 'order_lines']);
  });
});

// ---- migrations of an older warehouse -----------------------------------------------------------

/** A def as an older version had it: without the columns added later. */
const older = (t: TableDef): TableDef => ({ ...t, columns: t.columns.filter((c) => !c.addedLater) });

export function migrationCases(name: string, open: () => Promise<Warehouse & { dropDataset?: () => Promise<void> }>): void {
  describe(`one order fact: an older warehouse migrates (${name})`, function () {
    this.timeout(120_000);
    let wh: Warehouse & { dropDataset?: () => Promise<void> };
    before(async () => (wh = await open()));
    after(async () => {
      await wh?.dropDataset?.();
      await wh?.close();
    });

    it('daily_metrics without the source columns gets them; its old rows read NULL, new rows the counts', async () => {
      await wh.ensureSchema([older(DAILY_METRICS)]);
      const old = { report_date: '2010-12-01', orders: 1, gross_revenue: '2.5', refunds: '0', net_revenue: '2.5', cancelled_orders: 0, unique_customers: 1,
        items_sold: 1, avg_order_value: '2.5', sale_lines: 1, refund_lines: 0, total_lines: 1, computed_at: new Date().toISOString(), workflow_id: null };
      await wh.insertRows(older(DAILY_METRICS), [old]);
      const kpis: DailyKpis = { date: '2010-12-02', orders: 2, gross_revenue: '5', refunds: '0', net_revenue: '5', cancelled_orders: 0, unique_customers: 1,
        items_sold: 2, avg_order_value: '2.5', sale_lines: 2, refund_lines: 0, total_lines: 3, batch_orders: 1, batch_lines: 2, stream_orders: 1, stream_lines: 1 };
      await storeDailyReport(wh, { kpis, topProducts: [], countries: [] }, null);
      const rows = await wh.query('SELECT report_date, batch_orders, batch_lines, stream_orders, stream_lines FROM daily_metrics ORDER BY report_date');
      assert.deepEqual(rows, [
        { report_date: '2010-12-01', batch_orders: null, batch_lines: null, stream_orders: null, stream_lines: null },
        { report_date: '2010-12-02', batch_orders: 1, batch_lines: 2, stream_orders: 1, stream_lines: 1 },
      ]);
      const [{ gross }] = await wh.query<{ gross: string }>("SELECT gross_revenue AS gross FROM daily_metrics WHERE report_date = CAST('2010-12-01' AS DATE)");
      assert.equal(gross, '2.5', 'old values kept');
    });

    it('orders_stream without the identity columns gets them, and the view reads it', async () => {
      await wh.ensureSchema([older(ORDERS_STREAM)]);
      const [body] = generatedOn(NEW_DAY, 1, 2);
      await wh.insertRows(older(ORDERS_STREAM), [{
        event_id: 'old-1', message_id: 'm-old-1', invoice_no: body.InvoiceNo, stock_code: body.StockCode, description: body.Description,
        quantity: body.Quantity, invoice_ts: `${body.InvoiceDate.replace(' ', 'T')}.000Z`, invoice_date: NEW_DAY, unit_price: String(body.UnitPrice),
        customer_id: body.CustomerID === null ? null : Number(body.CustomerID), country: body.Country, is_cancellation: body.InvoiceNo.startsWith('C'),
        line_value: '1', high_value: false, predicted_revenue: null, model_version: null, schema_version: '1', source: 'generator',
        published_at: null, stored_at: new Date().toISOString(),
      }]);
      await wh.ensureSchema(ORDER_LINES_SCHEMA);
      const rows = await wh.query('SELECT event_id, source_sha256, source_line_no, unit_price FROM orders_stream');
      assert.deepEqual(rows, [{ event_id: 'old-1', source_sha256: null, source_line_no: null, unit_price: String(body.UnitPrice) }]);
      const [{ n }] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${ORDER_LINES.name} WHERE origin = 'stream'`);
      assert.equal(n, 1);
    });

    it('any other difference is still refused with "migrate or drop it"', async () => {
      const drifted: TableDef = { ...DAILY_METRICS, name: 'daily_metrics_drift', columns: DAILY_METRICS.columns.filter((c) => c.name !== 'refunds') };
      await wh.ensureSchema([older(drifted)]);
      await assert.rejects(wh.ensureSchema([{ ...DAILY_METRICS, name: 'daily_metrics_drift' }]), (err: unknown) =>
        err instanceof WarehouseSchemaError && /migrate or drop it/.test(err.message));
    });
  });
}

migrationCases('duckdb', async () => new DuckDBWarehouse({ path: path.join(tempDir(), 'old.duckdb') }));

// ---- every day of the real data ------------------------------------------------------------------

describe('one order fact: all 305 days of the real data through order_lines equal the reference from the CSV', function () {
  this.timeout(600_000);
  let wh: DuckDBWarehouse;
  const dir = tempDir();

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb') });
    await loadOrdersFile(wh, realDataFile());
  });
  after(async () => {
    await wh?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('305 of 305 days: orders, revenue, refunds, cancellations, customers, items; every line from the batch', async () => {
    const days = await datesWithData(wh, '2010-12-01', '2011-12-09');
    assert.equal(days.length, 305);
    const reference = referenceKpis(realDataFile(), days);
    const wrong: string[] = [];
    let orders = 0;
    for (const date of days) {
      const { kpis } = await computeDailyReport(wh, date);
      const { orders: o, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold } = kpis;
      try {
        assert.deepEqual({ orders: o, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold }, reference.get(date));
        assert.deepEqual(sources(kpis), { batch_orders: o, batch_lines: kpis.total_lines, stream_orders: 0, stream_lines: 0 });
      } catch {
        wrong.push(date);
      }
      orders += o;
    }
    assert.deepEqual(wrong, []);
    assert.equal(orders, 19_960);
  });
});

// ---- through the real stream: Pub/Sub emulator + StreamConsumer, both backends ----------------------

// Two of the smallest days of the data, whole, so that the BigQuery emulator (which runs the
// view's NOT EXISTS as a nested loop) stays quick: 2010-12-22 (291 lines, 1 exact repeat, 5
// cancellation lines) and 2011-02-06 (279 lines, 6 exact repeats).
const SMALL_DAYS = ['2010-12-22', '2011-02-06'];
const [REPLAY_DAY, BOTH_DAY] = SMALL_DAYS;
const SMALL_FIXTURE = (() => {
  const all = zlib.gunzipSync(fs.readFileSync(realDataFile())).toString('utf8').split('\n');
  const wanted = SMALL_DAYS.map((d) => { const [y, m, dd] = d.split('-').map(Number); return `,${m}/${dd}/${y} `; });
  return [all[0], ...all.slice(1).filter((l) => wanted.some((w) => l.includes(w)))];
})();

function uniqueNames(): StreamNames {
  const tag = randomUUID().slice(0, 8);
  return { topic: `of-orders-${tag}`, subscription: `of-orders-warehouse-${tag}`, deadLetterTopic: `of-orders-dlq-${tag}`, deadLetterSubscription: `of-orders-dlq-inspect-${tag}` };
}

async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Publish to a fresh topic, run the real consumer on its subscription until `expected` more lines are stored. */
async function streamThrough(wh: Warehouse, lines: OutboundLine[], source: string): Promise<void> {
  const names = uniqueNames();
  await ensureStreamTopology(testEventBus(), names);
  const storedNow = async () => Number((await wh.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders_stream'))[0].n);
  const before = await storedNow().catch(() => 0);
  const stats = await publishLines(testEventBus(), lines, { topic: names.topic, source });
  assert.deepEqual([stats.published, stats.failed], [lines.length, 0]);
  const pubsub = createPubSubSource({ projectId: TEST_PUBSUB_PROJECT, subscription: names.subscription, deadLetterTopic: names.deadLetterTopic, maxMessages: 5_000, log: () => undefined });
  const consumer = new StreamConsumer({ warehouse: wh, deadLetter: pubsub.deadLetter, log: () => undefined });
  pubsub.start(consumer);
  try {
    await waitFor(`${lines.length} lines stored`, async () => (await storedNow()) >= before + lines.length);
  } finally {
    await consumer.drain();
    await pubsub.close();
  }
  assert.deepEqual([consumer.counts.duplicates, consumer.counts.deadLettered], [0, 0]);
  assert.equal(await storedNow(), before + lines.length);
}

const outbound = (bodies: readonly OrderLineMessage[]): OutboundLine[] => bodies.map((b) => ({ body: b, orderingKey: b.InvoiceNo }));

export function throughTheStream(name: string, open: () => Promise<Warehouse & { dropDataset?: () => Promise<void> }>): void {
  describe(`@integration one order fact through Pub/Sub and the consumer (${name})`, function () {
    this.timeout(300_000);
    const csvLines = fromCsv(SMALL_FIXTURE);
    const fixtureGz = writeCsv(SMALL_FIXTURE, { gzip: true });
    let wh: Warehouse & { dropDataset?: () => Promise<void> };

    before(async () => {
      wh = await open();
      await loadOrdersFile(wh, fixtureGz);
    });
    after(async () => {
      await wh?.dropDataset?.();
      await wh?.close();
    });

    it(`(a) ${REPLAY_DAY} replayed whole through the stream: its KPIs stay exactly the reference from the CSV`, async () => {
      const plan = await planReplay(wh, REPLAY_DAY, 1e9);
      assert.equal(plan.lines.length, 291);
      await streamThrough(wh, plan.lines, 'replay');
      const { kpis, topProducts } = await computeDailyReport(wh, REPLAY_DAY);
      const { orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold } = kpis;
      assert.deepEqual({ orders, gross_revenue, refunds, cancelled_orders, unique_customers, items_sold }, referenceKpis(fixtureGz, [REPLAY_DAY]).get(REPLAY_DAY));
      assert.deepEqual(pick(kpis), expectedKpis(csvLines, REPLAY_DAY));
      assert.deepEqual(sources(kpis), { batch_orders: orders, batch_lines: 291, stream_orders: 0, stream_lines: 0 });
      assert.ok(cancelled_orders > 0, 'the day has refunds');
      assert.equal(topProducts.length, 10);
    });

    it(`(b) ${NEW_DAY}, a new day of 600 generated lines only: KPIs from the published messages, all from the stream`, async () => {
      const bodies = generatedOn(NEW_DAY, 600, 21);
      await streamThrough(wh, outbound(bodies), 'generator');
      const lines = bodies.map(fromMessage);
      const { kpis } = await computeDailyReport(wh, NEW_DAY);
      assert.deepEqual(pick(kpis), expectedKpis(lines, NEW_DAY));
      assert.deepEqual(sources(kpis), { batch_orders: 0, batch_lines: 0, stream_orders: saleInvoices(lines, NEW_DAY).size, stream_lines: 600 });
      assert.ok(kpis.orders > 20 && kpis.cancelled_orders > 0, `a real mix: ${kpis.orders} orders, ${kpis.cancelled_orders} cancelled`);
    });

    it(`(c) ${BOTH_DAY}, loaded lines plus 300 new streamed ones: the KPIs and the source counts sum both`, async () => {
      const bodies = generatedOn(BOTH_DAY, 300, 33);
      await streamThrough(wh, outbound(bodies), 'generator');
      const streamed = bodies.map(fromMessage);
      const { kpis } = await computeDailyReport(wh, BOTH_DAY);
      assert.deepEqual(pick(kpis), expectedKpis([...csvLines, ...streamed], BOTH_DAY));
      const batch = expectedKpis(csvLines, BOTH_DAY);
      assert.deepEqual(sources(kpis), { batch_orders: batch.orders, batch_lines: batch.total_lines, stream_orders: saleInvoices(streamed, BOTH_DAY).size, stream_lines: 300 });
      assert.equal(kpis.total_lines, batch.total_lines + 300);
      await storeDailyReport(wh, await computeDailyReport(wh, BOTH_DAY), null);
      const [row] = await wh.query('SELECT batch_lines, stream_lines FROM daily_metrics WHERE report_date = CAST(@d AS DATE)', { d: BOTH_DAY });
      assert.deepEqual(row, { batch_lines: batch.total_lines, stream_lines: 300 });
    });
  });
}

throughTheStream('duckdb', async () => new DuckDBWarehouse({ path: path.join(tempDir(), 'stream.duckdb') }));

describe('@integration one order fact on the BigQuery emulator', () => {
  // Registered only when the root hook started the emulator (not in a unit-only run).
  if (process.env.RETAILFLOW_TEST_SERVICES === 'none') return;
  const bigquery = (tag: string) => async (): Promise<BigQueryWarehouse> => {
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set: the root hook should have started the emulator');
    return createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `${tag}_${Date.now()}`, location: 'US', emulatorHost: host });
  };
  migrationCases('bigquery emulator', bigquery('of_migrate'));
  throughTheStream('bigquery emulator', bigquery('of_stream'));
});
