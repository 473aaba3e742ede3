/**
 * Streaming units, no servers: message validation, the seeded generator, and the consumer core
 * against an in-memory DuckDB with hand-made deliveries (acks, redeliveries, write failures).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { contentHash, multiply, parseTimestamp, validateMessage, type OrderLineMessage } from '../lib/stream/message';
import { CALENDAR_WEEKS, generateLines, take, type DataProfile } from '../lib/stream/generator';
import { handMadeProfile } from './support/stream-profiles';
import { tempDir } from './support/fixtures';
import { mulberry32, WeightedSampler } from '../lib/stream/random';
import { StreamConsumer, type InboundMessage } from '../lib/stream/consumer';
import { NO_LINE_SCORER, type LineScorer } from '../lib/stream/scoring';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { Row, TableDef, Warehouse } from '../lib/warehouse/types';

const LINE: OrderLineMessage = {
  event_id: 'evt-1',
  InvoiceNo: '536365',
  StockCode: '85123A',
  Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
  Quantity: 6,
  InvoiceDate: '12/1/2010 8:26',
  UnitPrice: 2.55,
  CustomerID: 17850,
  Country: 'United Kingdom',
};

const buf = (o: unknown): Buffer => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

describe('stream message validation', () => {
  it('accepts a seed-shaped line and normalises it exactly', () => {
    const v = validateMessage(buf(LINE));
    assert.ok(v.ok, !v.ok ? v.reason : '');
    assert.equal(v.line.eventId, 'evt-1');
    assert.equal(v.line.invoiceTs, '2010-12-01T08:26:00.000Z');
    assert.equal(v.line.invoiceDate, '2010-12-01');
    assert.equal(v.line.unitPrice, '2.55');
    assert.equal(v.line.lineValue, '15.3');
    assert.equal(v.line.isCancellation, false);
  });

  it('accepts ISO dates, decimal-string prices, string customer ids and cancellations', () => {
    const v = validateMessage(buf({ ...LINE, InvoiceNo: 'C536379', Quantity: -1, InvoiceDate: '2010-12-01T09:41:00', UnitPrice: '27.50', CustomerID: '14527.0' }));
    assert.ok(v.ok, !v.ok ? v.reason : '');
    assert.equal(v.line.unitPrice, '27.5');
    assert.equal(v.line.customerId, 14527);
    assert.equal(v.line.lineValue, '-27.5');
    assert.equal(v.line.isCancellation, true);
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    ['bad JSON', buf('{"InvoiceNo": '), /bad JSON/],
    ['an array', buf([1, 2]), /not a JSON object/],
    ['a missing field', buf({ ...LINE, Country: undefined }), /missing field Country/],
    ['a string quantity', buf({ ...LINE, Quantity: '6' }), /Quantity is not an integer/],
    ['a fractional quantity', buf({ ...LINE, Quantity: 1.5 }), /Quantity is not an integer/],
    ['an absurd quantity', buf({ ...LINE, Quantity: 5_000_000 }), /Quantity is absurd/],
    ['an absurd price', buf({ ...LINE, UnitPrice: 1e9 }), /UnitPrice/],
    ['a price with 10 decimals', buf({ ...LINE, UnitPrice: '1.0000000001' }), /UnitPrice is not a decimal/],
    ['an impossible date', buf({ ...LINE, InvoiceDate: '2/30/2011 10:00' }), /InvoiceDate is not a date-time/],
    ['a date in 1970', buf({ ...LINE, InvoiceDate: '1970-01-01T00:00:00' }), /InvoiceDate is absurd/],
    ['a negative customer', buf({ ...LINE, CustomerID: -5 }), /CustomerID/],
    ['an empty country', buf({ ...LINE, Country: ' ' }), /Country/],
    ['a numeric event_id', buf({ ...LINE, event_id: 12 }), /event_id/],
    ['an oversized payload', buf({ ...LINE, Description: 'x'.repeat(9_000) }), /payload too large/],
  ];
  for (const [what, data, reason] of bad) {
    it(`rejects ${what}`, () => {
      const v = validateMessage(data);
      assert.equal(v.ok, false);
      if (!v.ok) assert.match(v.reason, reason);
    });
  }

  it('keys a line without event_id by a content hash that ignores formatting', () => {
    const noId = { ...LINE, event_id: undefined };
    const a = validateMessage(buf(noId));
    const b = validateMessage(buf({ ...noId, InvoiceDate: '2010-12-01T08:26:00', UnitPrice: '2.550', CustomerID: '17850' }));
    const c = validateMessage(buf({ ...noId, Quantity: 7 }));
    assert.ok(a.ok && b.ok && c.ok);
    assert.match(a.line.eventId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.line.eventIdSource, 'content-hash');
    assert.equal(a.line.eventId, b.line.eventId);
    assert.notEqual(a.line.eventId, c.line.eventId);
    assert.equal(a.line.eventId, contentHash(a.line));
  });

  it('multiplies money exactly and parses both date forms', () => {
    assert.equal(multiply(3, '0.1'), '0.3');
    assert.equal(multiply(-12, '1.25'), '-15');
    assert.equal(multiply(80995, '2.08'), '168469.6');
    assert.equal(parseTimestamp('12/9/2011 12:50'), '2011-12-09T12:50:00.000Z');
    assert.equal(parseTimestamp('2011-12-09 12:50:00'), '2011-12-09T12:50:00.000Z');
    assert.equal(parseTimestamp('2011-13-01T00:00:00'), undefined);
  });
});

describe('seeded randomness and the generator', () => {
  it('mulberry32 is reproducible and roughly uniform', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 10_000 }, () => a());
    assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });

  it('WeightedSampler follows the weights', () => {
    const s = new WeightedSampler(['a', 'b', 'c'], [1, 0, 3]);
    const rng = mulberry32(1);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 20_000; i++) counts[s.sample(rng) as 'a' | 'b' | 'c'] += 1;
    assert.equal(counts.b, 0);
    assert.ok(Math.abs(counts.a / 20_000 - 0.25) < 0.015, JSON.stringify(counts));
  });

  const profile: DataProfile = handMadeProfile([3, 1, 1, 2], { ornament: false });

  it('is reproducible by seed and differs between seeds', () => {
    const a = [...take(generateLines(profile, { seed: 5 }), 200)];
    const b = [...take(generateLines(profile, { seed: 5 }), 200)];
    const c = [...take(generateLines(profile, { seed: 6 }), 200)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('only emits real codes with their descriptions and prices, valid messages, and new ids past the data', () => {
    const lines = [...take(generateLines(profile, { seed: 9 }), 2_000)];
    const real = new Set(profile.saleLines.concat(profile.cancelLines).map((c) => `${c.stockCode}|${c.description}|${c.unitPrice}`));
    const known = new Set([17850, 12583]);
    for (const { body, orderingKey } of lines) {
      assert.ok(real.has(`${body.StockCode}|${body.Description}|${String(body.UnitPrice)}`), JSON.stringify(body));
      assert.equal(orderingKey, body.InvoiceNo);
      assert.ok(validateMessage(buf(body)).ok, JSON.stringify(body));
      assert.ok(Number(body.InvoiceNo.replace('C', '')) > 536368);
      if (body.CustomerID !== null && !known.has(Number(body.CustomerID))) assert.ok(Number(body.CustomerID) > 17850);
      if (body.InvoiceNo.startsWith('C')) assert.ok(body.Quantity < 0);
    }
    assert.equal(new Set(lines.map((l) => l.body.event_id)).size, lines.length, 'event ids are unique');
  });
});

/** A delivery that records what the consumer did with it. */
function delivery(id: string, body: unknown, attributes: Record<string, string> = {}): InboundMessage & { acked: number; nacked: number } {
  const m = {
    id,
    data: Buffer.isBuffer(body) ? body : buf(body),
    attributes: { schema_version: '1', source: 'test', ...attributes },
    publishTime: new Date(),
    acked: 0,
    nacked: 0,
    ack: () => void (m.acked += 1),
    nack: () => void (m.nacked += 1),
  };
  return m;
}

describe('stream consumer core (in-memory DuckDB)', () => {
  let wh: DuckDBWarehouse;
  const deadLetters: Array<{ data: Buffer; attributes: Record<string, string> }> = [];
  const logs: string[] = [];
  const consumer = (over: Partial<ConstructorParameters<typeof StreamConsumer>[0]> = {}) =>
    new StreamConsumer({
      warehouse: wh,
      deadLetter: async (data, attributes) => void deadLetters.push({ data, attributes }),
      registry: new Registry(),
      highValueThreshold: '100',
      log: (_level, msg) => void logs.push(msg),
      ...over,
    });

  beforeEach(() => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    deadLetters.length = 0;
    logs.length = 0;
  });
  afterEach(() => wh.close());

  const count = async (sql: string): Promise<number> => Number((await wh.query<{ n: number }>(sql))[0].n);

  it('stores, drops duplicates, dead-letters malformed messages, and acks each exactly once after writing', async () => {
    const c = consumer();
    const ms = [
      delivery('1', LINE),
      delivery('2', { ...LINE, event_id: 'evt-2', Quantity: 100 }), // 255: high value
      delivery('3', LINE), // duplicate of evt-1 within the batch
      delivery('4', '{not json'),
      delivery('5', { ...LINE, event_id: undefined }),
      delivery('6', { ...LINE, event_id: undefined }), // same content: duplicate by hash
    ];
    await c.processBatch(ms);
    assert.deepEqual(ms.map((m) => m.acked), [1, 1, 1, 1, 1, 1]);
    assert.equal(await count('SELECT COUNT(*) AS n FROM orders_stream'), 3);
    assert.equal(await count("SELECT COUNT(*) AS n FROM stream_ledger WHERE outcome = 'duplicate'"), 2);
    assert.equal(await count("SELECT COUNT(*) AS n FROM stream_ledger WHERE outcome = 'dead_lettered'"), 1);
    assert.equal(deadLetters.length, 1);
    assert.match(deadLetters[0].attributes.reason, /bad JSON/);
    assert.equal(deadLetters[0].attributes.original_message_id, '4');
    assert.equal(deadLetters[0].data.toString(), '{not json');
    assert.deepEqual({ ...c.counts, batches: 0 }, { received: 0, stored: 3, duplicates: 2, deadLettered: 1, alreadyAccounted: 0, lostRaces: 0, highValue: 1, batches: 0, writeFailures: 0 });
    assert.ok(logs.includes('HIGH VALUE ORDER'));
    const [row] = await wh.query("SELECT line_value, high_value, predicted_revenue, model_version FROM orders_stream WHERE event_id = 'evt-2'");
    assert.deepEqual(row, { line_value: '255', high_value: true, predicted_revenue: null, model_version: null });
  });

  it('survives a restart: later duplicates are found in the warehouse, redeliveries are acked without a second count', async () => {
    await consumer().processBatch([delivery('1', LINE), delivery('2', '[]')]);
    const again = consumer(); // a new process: nothing in memory
    const ms = [delivery('1', LINE), delivery('2', '[]'), delivery('3', LINE)];
    await again.processBatch(ms);
    assert.deepEqual(ms.map((m) => m.acked), [1, 1, 1]);
    assert.equal(again.counts.alreadyAccounted, 2);
    assert.equal(again.counts.duplicates, 1);
    assert.equal(await count('SELECT COUNT(*) AS n FROM orders_stream'), 1);
    assert.equal(await count('SELECT COUNT(*) AS n FROM stream_ledger'), 2);
    assert.equal(deadLetters.length, 1, 'a redelivered malformed message is not republished');
  });

  it('two consumers racing on one event: the insert stores it once, the loser is a duplicate in the ledger', async () => {
    // B's lookup runs before A's write (as when both get a copy at the same moment): it sees
    // nothing stored. Check-then-insert would store the event twice; insertNew does not.
    const a = consumer();
    let lookups = 0;
    const lateLookup: Warehouse = new Proxy(wh, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return async (sql: string, params?: Record<string, never>) => {
            if (sql.includes('FROM orders_stream') && lookups++ === 0) {
              await a.processBatch([delivery('1', LINE)]); // A stores evt-1 in between
              return [];
            }
            return target.query(sql, params);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const b = consumer({ warehouse: lateLookup });
    const copy = delivery('2', LINE);
    await b.processBatch([copy]);
    assert.equal(copy.acked, 1);
    assert.deepEqual([a.counts.stored, b.counts.stored, b.counts.duplicates, b.counts.lostRaces], [1, 0, 1, 1]);
    assert.equal(await count('SELECT COUNT(*) AS n FROM orders_stream'), 1);
    const ledger = await wh.query("SELECT message_id, outcome, event_id FROM stream_ledger");
    assert.deepEqual(ledger, [{ message_id: '2', outcome: 'duplicate', event_id: 'evt-1' }]);
    // A redelivery of B's message later is only acked: it is in the ledger.
    const again = consumer();
    await again.processBatch([delivery('2', LINE)]);
    assert.equal(again.counts.alreadyAccounted, 1);
    assert.equal(await count('SELECT COUNT(*) AS n FROM stream_ledger'), 1);
  });

  it('drops the unique index the first scale-out version left on a stream table, and still finds a stored event', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'w.duckdb');
    try {
      const legacy = new DuckDBWarehouse({ path: file });
      await consumer({ warehouse: legacy }).processBatch([delivery('1', LINE)]);
      await legacy.execute('CREATE UNIQUE INDEX orders_stream_key ON orders_stream (event_id)');
      await legacy.close();

      const reopened = new DuckDBWarehouse({ path: file }); // a new process
      try {
        const c = consumer({ warehouse: reopened });
        await c.processBatch([delivery('2', LINE)]);
        assert.deepEqual([c.counts.stored, c.counts.duplicates], [0, 1]);
        const indexes = await reopened.query("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'orders_stream'");
        assert.deepEqual(indexes, []);
      } finally {
        await reopened.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('publishes a batch\'s dead letters all at once (a flood of malformed lines must not crawl), and acks after the last', async () => {
    let inFlight = 0;
    let most = 0;
    const published: string[] = [];
    const c = consumer({
      deadLetter: async (_data, attributes) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight -= 1;
        published.push(attributes.original_message_id);
      },
    });
    const batch = Array.from({ length: 50 }, (_, i) => delivery(`bad-${i}`, '{not json'));
    await c.processBatch(batch);
    assert.equal(most, 50, 'every publish was started before the first finished');
    assert.equal(published.length, 50);
    assert.ok(batch.every((m) => m.acked === 1));
    assert.equal(c.counts.deadLettered, 50);
  });

  it('the generator keeps its simulated calendar inside the input rules: it starts again after CALENDAR_WEEKS', () => {
    // The small test profile has ~4 invoices a week: 80 years are ~17,000 invoices, ~270,000 lines.
    const years = new Set<number>();
    for (const l of take(generateLines(handMadeProfile([7, 25, 1, 30]), { seed: 1 }), 300_000)) years.add(Number(l.body.InvoiceDate.slice(0, 4)));
    assert.ok(Math.max(...years) <= 2091 && Math.min(...years) === 2011, `${Math.min(...years)}..${Math.max(...years)}`);
    assert.ok(CALENDAR_WEEKS === 52 * 80);
  });

  it('acks nothing when a write fails, and succeeds on retry', async () => {
    let fail = true;
    const flaky: Warehouse = new Proxy(wh, {
      get(target, prop, receiver) {
        if (prop === 'insertNew') {
          return async (table: TableDef, rows: readonly Row[]) => {
            if (fail) throw new Error('disk full');
            return target.insertNew(table, rows);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const c = consumer({ warehouse: flaky, maxBatchWaitMs: 10 });
    const m = delivery('1', LINE);
    c.push(m);
    // Until the first write has failed (a fixed 300 ms was too short on a loaded CI machine).
    for (const deadline = Date.now() + 10_000; c.counts.writeFailures === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    assert.equal(m.acked, 0);
    assert.ok(c.counts.writeFailures >= 1);
    assert.equal(c.error, 'disk full');
    fail = false;
    await c.drain();
    assert.equal(m.acked, 1);
    assert.equal(c.error, undefined);
    assert.equal(await count('SELECT COUNT(*) AS n FROM orders_stream'), 1);
  });

  it('drain writes what is buffered and nacks anything delivered afterwards', async () => {
    const c = consumer({ maxBatchWaitMs: 10_000 });
    const first = Array.from({ length: 5 }, (_, i) => delivery(String(i), { ...LINE, event_id: `e${i}` }));
    first.forEach((m) => c.push(m));
    assert.equal(c.inFlight, 5);
    const drained = c.drain();
    const late = delivery('late', { ...LINE, event_id: 'late' });
    c.push(late);
    await drained;
    assert.equal(c.inFlight, 0);
    assert.deepEqual(first.map((m) => m.acked), [1, 1, 1, 1, 1]);
    assert.equal(late.nacked, 1);
    assert.equal(late.acked, 0);
    assert.equal(await count('SELECT COUNT(*) AS n FROM orders_stream'), 5);
  });

  it('stores the scorer\'s predictions and model version', async () => {
    const scorer: LineScorer = {
      status: () => ({ status: 'ready', modelVersion: 'm-3' }),
      scoreLines: async (lines) => ({ modelVersion: 'm-3', predictions: lines.map((l) => multiply(2, l.lineValue)) }),
    };
    await consumer({ scorer }).processBatch([delivery('1', LINE)]);
    const [row] = await wh.query('SELECT predicted_revenue, model_version FROM orders_stream');
    assert.deepEqual(row, { predicted_revenue: '30.6', model_version: 'm-3' });
    assert.equal(NO_LINE_SCORER.status().status, 'no-model');
  });
});
