/**
 * The stream end to end through the Pub/Sub emulator: a known mix of valid, duplicate and
 * malformed messages must be accounted exactly; the consumer process survives SIGKILL and
 * SIGTERM mid-stream with every valid line stored exactly once. The kill test runs the real
 * process: build first (`npx tsc -p .`), it starts `node dist/workers/consumer.js`.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { pubsubClientConfig } from '../lib/eventbus/pubsub';
import { freePort } from '../lib/process/supervisor';
import { streamTotals } from '../lib/stream/accounting';
import { StreamConsumer } from '../lib/stream/consumer';
import { servingModelScorer, type LineScorer } from '../lib/stream/scoring';
import { ServingModel } from '../lib/model/serving';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { fakeModel, smallForest } from './support/model-fixtures';
import { generateLines, take, type DataProfile } from '../lib/stream/generator';
import { handMadeProfile } from './support/stream-profiles';
import type { OrderLineMessage } from '../lib/stream/message';
import { publishLines, type OutboundLine } from '../lib/stream/publisher';
import { createPubSubSource } from '../lib/stream/pubsub-source';
import { mulberry32 } from '../lib/stream/random';
import { ensureStreamTopology, type StreamNames } from '../lib/stream/topology';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import type { Warehouse } from '../lib/warehouse/types';
import { tempDir } from './support/fixtures';
import { TEST_PUBSUB_PROJECT, testEventBus } from './hooks';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function uniqueNames(): StreamNames {
  const tag = randomUUID().slice(0, 8);
  return { topic: `orders-${tag}`, subscription: `orders-warehouse-${tag}`, deadLetterTopic: `orders-dlq-${tag}`, deadLetterSubscription: `orders-dlq-inspect-${tag}` };
}

/** A small profile: the generator's shape without needing the real data loaded. */
export const SMALL_PROFILE: DataProfile = handMadeProfile([7, 12, 1, 20]);

/** Malformed payloads of every kind the consumer must dead-letter. */
function malformed(i: number, valid: OrderLineMessage): Buffer {
  const kinds: Array<() => unknown> = [
    () => '{"InvoiceNo": "5', // bad JSON
    () => ({ ...valid, event_id: `bad-${i}`, Country: undefined }), // missing field
    () => ({ ...valid, event_id: `bad-${i}`, Quantity: 'six' }), // ill-typed
    () => ({ ...valid, event_id: `bad-${i}`, Quantity: 9_999_999 }), // absurd
    () => ({ ...valid, event_id: `bad-${i}`, Description: 'x'.repeat(10_000) }), // oversized
    () => ({ ...valid, event_id: `bad-${i}`, InvoiceDate: '2011-02-30T10:00:00' }), // impossible date
  ];
  const v = kinds[i % kinds.length]();
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
}

/**
 * `valid` distinct lines (the last `noId` of them without event_id, keyed by content hash), plus
 * `dups` republished copies of them and `bad` malformed messages, shuffled by a seeded RNG.
 */
export function knownMix(seed: number, valid: number, dups: number, bad: number, noId = 0): { lines: OutboundLine[]; validLines: OrderLineMessage[] } {
  const validLines = [...take(generateLines(SMALL_PROFILE, { seed }), valid)].map((l, i) =>
    i < valid - noId ? l.body : { ...l.body, event_id: undefined, InvoiceNo: String(700_000 + i) }, // unique content
  );
  const rng = mulberry32(seed + 1);
  const out: OutboundLine[] = validLines.map((b) => ({ body: b, orderingKey: b.InvoiceNo }));
  for (let i = 0; i < dups; i++) {
    // Half of the duplicates copy seed-shaped lines without event_id (if any), the rest copy event_id lines.
    const fromNoId = noId > 0 && i % 2 === 0;
    const idx = fromNoId ? valid - noId + Math.floor(rng() * noId) : Math.floor(rng() * (valid - noId));
    out.push({ body: validLines[idx], orderingKey: validLines[idx].InvoiceNo });
  }
  for (let i = 0; i < bad; i++) out.push({ body: malformed(i, validLines[i]), orderingKey: validLines[i].InvoiceNo });
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return { lines: out, validLines };
}

/** An in-process consumer on the emulator. */
function startConsumer(wh: Warehouse, names: StreamNames, scorer?: LineScorer) {
  const source = createPubSubSource({
    projectId: TEST_PUBSUB_PROJECT,
    subscription: names.subscription,
    deadLetterTopic: names.deadLetterTopic,
    maxMessages: 5000,
    log: () => undefined,
  });
  const consumer = new StreamConsumer({ warehouse: wh, deadLetter: source.deadLetter, log: () => undefined, highValueThreshold: '200', scorer });
  source.start(consumer);
  return {
    consumer,
    stop: async () => {
      await consumer.drain();
      await source.close();
    },
  };
}

async function collectDeadLetters(names: StreamNames, expected: number): Promise<Message[]> {
  const client = new PubSub(pubsubClientConfig({ projectId: TEST_PUBSUB_PROJECT }));
  const got: Message[] = [];
  const sub = client.subscription(names.deadLetterSubscription);
  sub.on('message', (m: Message) => {
    got.push(m);
    m.ack();
  });
  try {
    await waitFor(`${expected} dead letters`, () => got.length >= expected, 30_000);
    await sleep(500); // anything extra shows up here
  } finally {
    await sub.close();
    await client.close();
  }
  return got;
}

async function countOf(wh: Warehouse, sql: string): Promise<number> {
  return Number((await wh.query<{ n: number }>(sql))[0].n);
}

describe('@integration stream: exact accounting through the emulator', function () {
  this.timeout(240_000);
  const dir = tempDir();
  let wh: DuckDBWarehouse;

  before(() => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb') });
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('10,000 valid + 500 duplicates + 200 malformed -> 10,000 stored, 500 duplicates, 200 dead-lettered', async () => {
    const names = uniqueNames();
    await ensureStreamTopology(testEventBus(), names);
    const { lines, validLines } = knownMix(11, 10_000, 500, 200, 300);
    assert.equal(lines.length, 10_700);

    const stats = await publishLines(testEventBus(), lines, { topic: names.topic, source: 'test' });
    assert.deepEqual([stats.published, stats.failed], [10_700, 0]);
    const run = startConsumer(wh, names);
    try {
      await waitFor('10,700 accounted', () => run.consumer.counts.stored + run.consumer.counts.duplicates + run.consumer.counts.deadLettered >= 10_700);
      await sleep(1_000); // a redelivery or an extra message would be counted in this window
    } finally {
      await run.stop();
    }
    const c = run.consumer.counts;
    assert.deepEqual([c.stored, c.duplicates, c.deadLettered], [10_000, 500, 200]);

    // The durable side agrees, and every valid line is there once.
    assert.equal(await countOf(wh, 'SELECT COUNT(*) AS n FROM orders_stream'), 10_000);
    assert.equal(await countOf(wh, 'SELECT COUNT(DISTINCT event_id) AS n FROM orders_stream'), 10_000);
    assert.equal(await countOf(wh, "SELECT COUNT(*) AS n FROM orders_stream WHERE event_id LIKE 'sha256:%'"), 300);
    const totals = await streamTotals(wh);
    assert.deepEqual([totals.stored, totals.duplicates, totals.deadLettered, totals.accounted], [10_000, 500, 200, 10_700]);
    const expectedValue = validLines.reduce((s, l) => s + Math.round(l.Quantity * Number(l.UnitPrice) * 100), 0) / 100;
    const [sum] = await wh.query<{ v: string }>('SELECT SUM(line_value) AS v FROM orders_stream');
    assert.equal(Number(sum.v).toFixed(2), expectedValue.toFixed(2));

    const dead = await collectDeadLetters(names, 200);
    assert.equal(dead.length, 200);
    assert.ok(dead.every((m) => (m.attributes.reason ?? '').length > 0), 'each dead letter carries its reason');
    const reasons = new Set(dead.map((m) => m.attributes.reason.split(':')[0]));
    for (const r of ['bad JSON', 'missing field Country', 'Quantity is not an integer', 'Quantity is absurd', 'payload too large', 'InvoiceDate is not a date-time']) {
      assert.ok([...reasons].some((x) => x.startsWith(r)), `a dead letter for "${r}" (got ${[...reasons].join(' | ')})`);
    }
  });
});

interface ChildRun {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('@integration stream consumer process: SIGKILL and SIGTERM mid-stream', function () {
  this.timeout(300_000);
  const dir = tempDir();
  const script = path.resolve(__dirname, '..', 'dist', 'workers', 'consumer.js');
  let healthPort = 0;
  let env: NodeJS.ProcessEnv;
  const names = uniqueNames();

  before(async function () {
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run "npx tsc -p ." first`);
    healthPort = await freePort();
    env = {
      ...process.env,
      PUBSUB_PROJECT_ID: TEST_PUBSUB_PROJECT,
      WAREHOUSE: 'duckdb',
      DUCKDB_PATH: path.join(dir, 'warehouse.duckdb'),
      STREAM_TOPIC: names.topic,
      STREAM_SUBSCRIPTION: names.subscription,
      STREAM_DLQ_TOPIC: names.deadLetterTopic,
      STREAM_DLQ_SUBSCRIPTION: names.deadLetterSubscription,
      STREAM_BATCH_SIZE: '250',
      STREAM_HEALTH_PORT: String(healthPort),
      STREAM_METRICS_PORT: String(await freePort()),
    };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function spawnConsumer(): ChildRun {
    const proc = spawn(process.execPath, ['--enable-source-maps', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    return { proc, output: () => out, exited };
  }

  async function health(): Promise<{ status: string; counts: { stored: number }; model: { status: string } } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/health`);
      return (await res.json()) as { status: string; counts: { stored: number }; model: { status: string } };
    } catch {
      return undefined;
    }
  }

  async function accounted(): Promise<number> {
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/stats`);
      const body = (await res.json()) as { totals: { accounted: number } };
      return body.totals.accounted;
    } catch {
      return -1;
    }
  }

  it('stores every valid line exactly once across a kill -9, a SIGTERM drain and two restarts', async () => {
    const total = 8_000;
    const { lines, validLines } = knownMix(21, total, 0, 0);
    await ensureStreamTopology(testEventBus(), names);
    // Published at 2,000 lines/s, so the stream is still flowing when the consumer dies.
    const publishing = publishLines(testEventBus(), lines, { topic: names.topic, source: 'test', rate: 2_000 });

    let run = spawnConsumer();
    await waitFor('the consumer to be healthy', async () => (await health())?.status === 'healthy', 60_000);
    const h = await health();
    assert.equal(h?.model.status, 'no-model', '/health says no model scores the lines');
    await waitFor('some lines stored', async () => ((await health())?.counts.stored ?? 0) >= 1_000, 60_000);
    run.proc.kill('SIGKILL');
    assert.equal((await run.exited).signal, 'SIGKILL');

    run = spawnConsumer();
    await waitFor('the restarted consumer to be healthy', async () => (await health())?.status === 'healthy', 60_000);
    await waitFor('more lines stored after the restart', async () => ((await health())?.counts.stored ?? 0) >= 500, 60_000);
    // The consumer releases the DuckDB file between batches: another process can read it meanwhile.
    const reader = new DuckDBWarehouse({ path: String(env.DUCKDB_PATH), lockTimeoutMs: 10_000 });
    try {
      assert.ok((await countOf(reader, 'SELECT COUNT(*) AS n FROM orders_stream')) >= 1_000);
    } finally {
      await reader.close();
    }
    run.proc.kill('SIGTERM');
    const stopped = await run.exited;
    assert.equal(stopped.code, 0, run.output());
    const stopLine = run.output().split('\n').find((l) => l.includes('"consumer stopped"'));
    assert.ok(stopLine, run.output());
    assert.equal((JSON.parse(stopLine) as { inFlight: number }).inFlight, 0);

    const published = await publishing;
    assert.equal(published.published, total);
    run = spawnConsumer();
    try {
      await waitFor('every line accounted', async () => (await accounted()) >= total, 120_000);
      await sleep(2_000); // late redeliveries would show up here
      assert.equal(await accounted(), total);
    } finally {
      run.proc.kill('SIGTERM');
      assert.equal((await run.exited).code, 0, run.output());
    }

    const wh = new DuckDBWarehouse({ path: String(env.DUCKDB_PATH) });
    try {
      assert.equal(await countOf(wh, 'SELECT COUNT(*) AS n FROM orders_stream'), total);
      assert.equal(await countOf(wh, 'SELECT COUNT(DISTINCT event_id) AS n FROM orders_stream'), total);
      assert.equal(await countOf(wh, 'SELECT COUNT(*) AS n FROM stream_ledger'), 0, 'redeliveries are not duplicates');
      const stored = new Set((await wh.query<{ event_id: string }>('SELECT event_id FROM orders_stream')).map((r) => r.event_id));
      assert.ok(validLines.every((l) => stored.has(String(l.event_id))), 'every published line is stored');
    } finally {
      await wh.close();
    }
  });
});

describe('@integration stream into the BigQuery emulator', function () {
  this.timeout(240_000);

  it('1,000 valid + 50 duplicates + 20 malformed -> exactly 1,000 / 50 / 20 (load job + MERGE, insert-if-absent)', async () => {
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set (the root hook starts the emulator)');
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    const wh = await createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `stream_${Date.now()}`, location: 'US', emulatorHost: host });
    const names = uniqueNames();
    await ensureStreamTopology(testEventBus(), names);
    const { lines } = knownMix(31, 1_000, 50, 20, 40);
    await publishLines(testEventBus(), lines, { topic: names.topic, source: 'test' });
    const run = startConsumer(wh, names);
    try {
      await waitFor('1,070 accounted', () => run.consumer.counts.stored + run.consumer.counts.duplicates + run.consumer.counts.deadLettered >= 1_070);
      await sleep(1_000);
    } finally {
      await run.stop();
    }
    const totals = await streamTotals(wh);
    assert.deepEqual([totals.stored, totals.duplicates, totals.deadLettered], [1_000, 50, 20]);
    assert.equal(await countOf(wh, 'SELECT COUNT(DISTINCT event_id) AS n FROM orders_stream'), 1_000);
    await wh.close();
  });
});

describe('@integration stream: lines scored with the promoted model', function () {
  this.timeout(120_000);

  it('stores every line with the promoted version and a prediction (the /predict code path)', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    const store = new FileModelStore(tempDir());
    await registerModel(wh, store, fakeModel('rf-stream-e2e', 3, { artifact: await smallForest(5, 10) }));
    await promote(wh, 'rf-stream-e2e');
    const serving = new ServingModel(wh, store);
    await serving.refresh();
    const names = uniqueNames();
    await ensureStreamTopology(testEventBus(), names);
    const { lines } = knownMix(31, 300, 0, 0);
    await publishLines(testEventBus(), lines, { topic: names.topic, source: 'test' });
    const run = startConsumer(wh, names, servingModelScorer(serving));
    try {
      // The consumer creates orders_stream with its first batch.
      const stored = () => countOf(wh, 'SELECT COUNT(*) AS n FROM orders_stream').catch(() => 0);
      await waitFor('300 lines stored', async () => (await stored()) >= 300, 60_000);
      const [r] = await wh.query<{ n: number; scored: number; versions: number }>(
        "SELECT COUNT(*) AS n, COUNT(predicted_revenue) AS scored, COUNT(DISTINCT model_version) AS versions FROM orders_stream WHERE model_version = 'rf-stream-e2e'",
      );
      assert.deepEqual(r, { n: 300, scored: 300, versions: 1 });
    } finally {
      await run.stop();
      await wh.close();
    }
  });
});
