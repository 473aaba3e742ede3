/**
 * Fuzzing the stream consumer's core (StreamConsumer over an in-memory DuckDB, no Pub/Sub): runs
 * of generated deliveries (new lines, duplicates by event_id and by content, redeliveries of the
 * same message, malformed JSON, bytes and fields) cut into micro-batches at random. Properties:
 * every delivery is acked once; every message ends in exactly one of stored, duplicate or
 * dead-lettered, as its construction says; stored + duplicates + dead-lettered = messages in the
 * counters, in the tables (streamTotals, and message ids across orders_stream and stream_ledger)
 * and in the dead-letter sink, which gets each malformed message's bytes unchanged.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { MAX_ABS_QUANTITY, MAX_CUSTOMER_ID } from '../../lib/input-rules';
import { streamTotals } from '../../lib/stream/accounting';
import { StreamConsumer } from '../../lib/stream/consumer';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { delivery, fuzzParams, messageBody, SEED, validLine, type ValidLineFields } from './arbitraries';

export const STREAM_RUNS = 66;
const MESSAGES_PER_RUN = { minLength: 150, maxLength: 200 };

type Outcome = 'stored' | 'duplicate' | 'dead_lettered';

/** Values each field refuses whatever the rest of the line is (the stored-line rules). */
const BAD_FIELD: Record<string, readonly unknown[]> = {
  InvoiceNo: ['', 'c536379', 536365, null, "536365'; DROP TABLE orders_raw; --", '5363\u000065'],
  StockCode: ['', '🎁', "85123A' OR '1'='1", null, 'x'.repeat(33)],
  Description: [123, {}, ['a'], 'x'.repeat(501), 'lone \uD800 surrogate', '\uDFFF'],
  Quantity: [0, 2.5, '6', MAX_ABS_QUANTITY + 1, null, true, 'NaN'],
  InvoiceDate: ['2/30/2011 10:00', 'now', '1999-12-31T23:59:00', '6/15/2101 10:30', 20111201, null, '2011-06-15'],
  UnitPrice: ['1e3', 'NaN', 100_000.01, '1.0000000001', null, {}, '2.55; --'],
  CustomerID: [0, -1, 2.5, 'abc', MAX_CUSTOMER_ID + 1, '17850 OR 1=1'],
  Country: ['', '\u202Eeniarku', '🇬🇧', "France'; DROP TABLE orders_stream; --", 'United\u0000Kingdom', 7],
  event_id: [12, '', 'has space', "evt'; --", '-lead', 'x'.repeat(129), {}],
};

/** How a delivery is made. `ref` picks an earlier message (modulo how many qualify). */
type Op =
  | { kind: 'new'; line: ValidLineFields; form: number; withId: boolean }
  | { kind: 'dupEvent'; line: ValidLineFields; form: number; ref: number }
  | { kind: 'dupContent'; ref: number }
  | { kind: 'redeliver'; ref: number }
  | { kind: 'badField'; line: ValidLineFields; field: string; value: number }
  | { kind: 'missingField'; line: ValidLineFields; field: number }
  | { kind: 'truncated'; line: ValidLineFields; cut: number }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'notUtf8'; line: ValidLineFields; at: number }
  | { kind: 'oversize'; line: ValidLineFields }
  | { kind: 'notObject'; value: unknown };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('new' as const), line: validLine, form: fc.nat(7), withId: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }) }), weight: 12 },
  { arbitrary: fc.record({ kind: fc.constant('dupEvent' as const), line: validLine, form: fc.nat(7), ref: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('dupContent' as const), ref: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('redeliver' as const), ref: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('badField' as const), line: validLine, field: fc.constantFrom(...Object.keys(BAD_FIELD)), value: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('missingField' as const), line: validLine, field: fc.nat(7) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('truncated' as const), line: validLine, cut: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('notUtf8' as const), line: validLine, at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('oversize' as const), line: validLine }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('notObject' as const), value: fc.oneof(fc.constantFrom(null, 1, 'x', true), fc.array(fc.jsonValue(), { maxLength: 3 })) }), weight: 1 },
);

interface Planned {
  id: string;
  data: Buffer;
  /** What must become of it; undefined for a redelivery (already decided by its first delivery). */
  expect: Outcome | undefined;
}

const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const FIELD_NAMES = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];

/** Turns the generated ops of one run into deliveries, each with the outcome its construction implies. */
export function plan(ops: readonly Op[], run: string): Planned[] {
  const out: Planned[] = [];
  const eventIds: string[] = [];
  const noIdBodies: Buffer[] = [];
  const first: Planned[] = [];
  const add = (data: Buffer, expect: Outcome): void => {
    const p = { id: `${run}-m${out.length}`, data, expect };
    out.push(p);
    first.push(p);
  };
  const fresh = (l: ValidLineFields, form: number): void => {
    const id = `${run}-e${out.length}`;
    eventIds.push(id);
    add(json(messageBody(l, form, id)), 'stored');
  };
  for (const o of ops) {
    switch (o.kind) {
      case 'new':
        if (o.withId) fresh(o.line, o.form);
        else {
          // A line without event_id is keyed by its content: unique by its invoice number here.
          const body = json(messageBody({ ...o.line, InvoiceNo: `${run.replace(/\D/g, '')}${out.length}` }, o.form, undefined));
          noIdBodies.push(body);
          add(body, 'stored');
        }
        break;
      case 'dupEvent':
        if (eventIds.length === 0) fresh(o.line, o.form);
        else add(json(messageBody(o.line, o.form, eventIds[o.ref % eventIds.length])), 'duplicate');
        break;
      case 'dupContent':
        if (noIdBodies.length > 0) add(noIdBodies[o.ref % noIdBodies.length], 'duplicate');
        break;
      case 'redeliver':
        if (first.length > 0) {
          const again = first[o.ref % first.length];
          out.push({ ...again, expect: undefined });
        }
        break;
      default:
        add(malformed(o, `${run}-e${out.length}`), 'dead_lettered');
    }
  }
  return out;
}

function malformed(o: Exclude<Op, { kind: 'new' | 'dupEvent' | 'dupContent' | 'redeliver' }>, eventId: string): Buffer {
  switch (o.kind) {
    case 'badField': {
      const values = BAD_FIELD[o.field];
      return json({ ...messageBody(o.line, 0, eventId), [o.field]: values[o.value % values.length] });
    }
    case 'missingField': {
      const body = messageBody(o.line, 0, eventId);
      delete body[FIELD_NAMES[o.field]];
      return json(body);
    }
    case 'truncated': {
      const text = JSON.stringify(messageBody(o.line, 0, eventId));
      return Buffer.from(text.slice(0, o.cut % text.length)); // an object never closed
    }
    case 'bytes':
      return Buffer.from(o.bytes);
    case 'notUtf8': {
      const text = JSON.stringify({ ...messageBody(o.line, 0, eventId), Description: 'ab' });
      const at = text.indexOf('"ab"') + 2;
      return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0xff]), Buffer.from(text.slice(at))]);
    }
    case 'oversize':
      return json({ ...messageBody(o.line, 0, eventId), Note: 'x'.repeat(8_200) });
    case 'notObject':
      return json(o.value);
  }
}

/** The micro-batches: consecutive slices of 1 to 60 deliveries. */
function cut<T>(xs: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  for (let i = 0, k = 0; i < xs.length; k++) {
    const n = sizes[k % sizes.length];
    out.push(xs.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('fuzz: stream consumer core (generated deliveries, in-memory DuckDB)', function () {
  this.timeout(120_000);
  let delivered = 0;
  let messages = 0;
  let run = 0;

  const property = fc.asyncProperty(fc.array(op, MESSAGES_PER_RUN), fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 8 }), async (ops, sizes) => {
    const planned = plan(ops, `r${run++}`);
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      await checkRun(wh, planned, sizes);
    } finally {
      await wh.close();
    }
    delivered += planned.length;
    messages += planned.filter((p) => p.expect !== undefined).length;
  });

  it(`${STREAM_RUNS} runs of 150-200 deliveries: each message stored, duplicate or dead-lettered, once, in counters and tables`, async () => {
    await fc.assert(property, fuzzParams(SEED, STREAM_RUNS));
    assert.ok(messages >= 10_000, `only ${messages} messages`);
    console.log(`      (${delivered} deliveries, ${messages} distinct messages)`);
  });
});

async function checkRun(wh: DuckDBWarehouse, planned: readonly Planned[], sizes: readonly number[]): Promise<void> {
  const deadLetters: Array<{ data: Buffer; attributes: Record<string, string> }> = [];
  const consumer = new StreamConsumer({
    warehouse: wh, registry: new Registry(), log: () => undefined,
    deadLetter: async (data, attributes) => void deadLetters.push({ data, attributes }),
  });
  const deliveries = planned.map((p) => delivery(p.id, p.data));
  for (const batch of cut(deliveries, sizes)) await consumer.processBatch(batch);

  const firsts = planned.filter((p) => p.expect !== undefined);
  const want = (o: Outcome) => firsts.filter((p) => p.expect === o).length;
  assert.deepEqual(deliveries.filter((d) => d.acked !== 1 || d.nacked !== 0).map((d) => d.id), [], 'every delivery acked exactly once');
  const c = consumer.counts;
  assert.deepEqual([c.stored, c.duplicates, c.deadLettered, c.alreadyAccounted], [want('stored'), want('duplicate'), want('dead_lettered'), planned.length - firsts.length]);

  const totals = await streamTotals(wh);
  assert.deepEqual([totals.stored, totals.duplicates, totals.deadLettered, totals.accounted], [c.stored, c.duplicates, c.deadLettered, firsts.length]);
  await checkEachMessage(wh, firsts);
  assert.equal(deadLetters.length, want('dead_lettered'));
  const byId = new Map(firsts.map((p) => [p.id, p]));
  for (const d of deadLetters) {
    const p = byId.get(d.attributes.original_message_id);
    assert.ok(p && p.expect === 'dead_lettered' && p.data.equals(d.data), `dead letter ${d.attributes.original_message_id} is not a malformed message's bytes`);
    assert.ok(d.attributes.reason.length > 0, 'a dead letter has a reason');
  }
}

/** Each message id in exactly one table, with the outcome its construction says. */
async function checkEachMessage(wh: DuckDBWarehouse, firsts: readonly Planned[]): Promise<void> {
  const rows = await wh.query<{ message_id: string; outcome: string }>(
    `SELECT message_id, 'stored' AS outcome FROM orders_stream UNION ALL SELECT message_id, outcome FROM stream_ledger`,
  );
  assert.equal(rows.length, firsts.length, 'one row per message across orders_stream and stream_ledger');
  const got = new Map(rows.map((r) => [r.message_id, r.outcome]));
  const wrong = firsts.filter((p) => got.get(p.id) !== p.expect).slice(0, 3);
  assert.deepEqual(wrong.map((p) => `${p.id}: ${got.get(p.id)} ${p.data.toString('utf8').slice(0, 200)}`), [], 'outcomes as constructed');
}
