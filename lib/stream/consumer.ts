/**
 * The stream consumer's core, independent of where messages come from (`pubsub-source.ts` feeds it
 * from a streaming pull; unit tests feed it directly).
 *
 * Messages are buffered into micro-batches (size or age, whichever first). One batch at a time:
 *   1. validate each message (message.ts); a malformed one is republished to the dead-letter
 *      topic with its reason as an attribute;
 *   2. dedupe by event_id against orders_stream (durable, so it survives restarts) and within the
 *      batch; a redelivered message that is already accounted (same message_id) is only acked.
 *      This lookup only saves work: the write in step 4 is what keeps an event stored once;
 *   3. score the new lines, flag high-value lines;
 *   4. insert the new lines into orders_stream if their event_id is absent (one statement on a
 *      unique key, so consumer processes racing on one event store it once), read back which
 *      message owns each event (a loser becomes a duplicate), and write the duplicates and dead
 *      letters to stream_ledger, also insert-if-absent by message_id;
 *   5. only then ack. A failed write is retried with backoff; nothing is acked before it succeeds.
 * `drain()` stops taking messages (new ones are nacked), flushes what is buffered and resolves when
 * nothing is in flight.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { Row, Warehouse } from '../warehouse/types';
import { decimalGreater, DEFAULT_LIMITS, validateMessage, type ValidLine, type ValidationLimits } from './message';
import { NO_LINE_SCORER, type LineScorer } from './scoring';
import { ORDERS_STREAM, STREAM_LEDGER, type LedgerOutcome } from './tables';
import { ORDER_LINES_SCHEMA } from '../order-lines';

/** One delivered message, as any source presents it. */
export interface InboundMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  ack(): void;
  nack(): void;
}

/** Republishes a malformed message, with `reason` among its attributes. */
export type DeadLetterSink = (data: Buffer, attributes: Record<string, string>) => Promise<void>;

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface ConsumerOptions {
  warehouse: Warehouse;
  deadLetter: DeadLetterSink;
  scorer?: LineScorer;
  /** Lines per micro-batch (default 2000). */
  batchSize?: number;
  /** A partial batch is written after this long (default 50 ms). */
  maxBatchWaitMs?: number;
  /** A line whose value (quantity x unit price) exceeds this is a high-value order. Decimal string. */
  highValueThreshold?: string;
  limits?: ValidationLimits;
  registry?: Registry;
  log?: LogFn;
}

export interface ConsumerCounts {
  received: number;
  stored: number;
  duplicates: number;
  deadLettered: number;
  /** Redeliveries of messages already accounted: acked again, not counted again. */
  alreadyAccounted: number;
  /**
   * Duplicates found only at the write: another consumer stored the event between this one's
   * lookup and its insert (counted in `duplicates` too).
   */
  lostRaces: number;
  highValue: number;
  batches: number;
  writeFailures: number;
}

export const DEFAULT_HIGH_VALUE_THRESHOLD = '1000';

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
const SAFE_ID = /^[A-Za-z0-9._:-]{1,200}$/;
const IN_GROUP = 100;
/** Errors in logs and /health are cut to this length (a failed query can echo kilobytes of SQL). */
const MAX_ERROR_CHARS = 500;

export function consumerMetrics(registry: Registry) {
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    received: counter('stream_messages_received_total', 'Messages delivered to the consumer (redeliveries included).'),
    stored: counter('stream_lines_stored_total', 'Order lines written to orders_stream.'),
    duplicates: counter('stream_duplicates_total', 'Messages dropped as duplicates (event_id already stored).'),
    deadLettered: counter('stream_dead_lettered_total', 'Malformed messages republished to the dead-letter topic.'),
    highValue: counter('stream_high_value_orders_total', 'Lines above the high-value threshold.'),
    latency: new Histogram({
      name: 'stream_processing_latency_seconds',
      help: 'Time from publish (publisher timestamp, else Pub/Sub publish time) to durably stored and acked.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
  };
}

type Decision =
  | { kind: 'store'; m: InboundMessage; line: ValidLine }
  | { kind: 'ledger'; m: InboundMessage; outcome: LedgerOutcome; eventId: string | null; reason: string }
  | { kind: 'ack-only'; m: InboundMessage };
type StoreDecision = Extract<Decision, { kind: 'store' }>;
type LedgerDecision = Extract<Decision, { kind: 'ledger' }>;

export class StreamConsumer {
  readonly registry: Registry;
  readonly counts: ConsumerCounts = { received: 0, stored: 0, duplicates: 0, deadLettered: 0, alreadyAccounted: 0, lostRaces: 0, highValue: 0, batches: 0, writeFailures: 0 };
  private readonly metrics: ReturnType<typeof consumerMetrics>;
  private readonly buffer: InboundMessage[] = [];
  private readonly batchSize: number;
  private readonly maxBatchWaitMs: number;
  private readonly threshold: string;
  private readonly limits: ValidationLimits;
  private readonly scorer: LineScorer;
  private readonly log: LogFn;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private draining = false;
  private schemaReady: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(private readonly opts: ConsumerOptions) {
    this.batchSize = opts.batchSize ?? 2000;
    this.maxBatchWaitMs = opts.maxBatchWaitMs ?? 50;
    this.threshold = opts.highValueThreshold ?? DEFAULT_HIGH_VALUE_THRESHOLD;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.scorer = opts.scorer ?? NO_LINE_SCORER;
    this.registry = opts.registry ?? new Registry();
    this.metrics = consumerMetrics(this.registry);
    this.log = opts.log ?? defaultLog;
  }

  /**
   * Create orders_stream and stream_ledger if missing (or add the columns a newer version has),
   * and the order_lines view that counts the stored lines with the loaded ones.
   */
  ensureSchema(): Promise<void> {
    if (!this.schemaReady) {
      this.schemaReady = this.opts.warehouse.ensureSchema([STREAM_LEDGER, ...ORDER_LINES_SCHEMA]);
      this.schemaReady.catch(() => (this.schemaReady = undefined)); // the next batch tries again
    }
    return this.schemaReady;
  }

  /** Messages buffered or being written. */
  get inFlight(): number {
    return this.buffer.length + (this.flushing ? this.currentBatchSize : 0);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The last write error while it persists (cleared by a successful batch); for /health. */
  get error(): string | undefined {
    return this.lastError;
  }

  push(m: InboundMessage): void {
    if (this.draining) {
      m.nack(); // not ours any more: redelivered to whoever consumes next
      return;
    }
    this.counts.received += 1;
    this.metrics.received.inc();
    this.buffer.push(m);
    if (this.buffer.length >= this.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.maxBatchWaitMs);
  }

  /** Stop taking messages, write and ack everything buffered. Resolves when nothing is in flight. */
  async drain(): Promise<void> {
    this.draining = true;
    while (this.buffer.length > 0 || this.flushing) {
      this.kick();
      await this.flushing;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private currentBatchSize = 0;

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.batchSize);
    this.currentBatchSize = batch.length;
    this.flushing = this.processWithRetry(batch).finally(() => {
      this.flushing = undefined;
      this.currentBatchSize = 0;
      // More arrived meanwhile: a full batch goes at once, a partial one waits for its timer.
      if (this.buffer.length >= this.batchSize || (this.draining && this.buffer.length > 0)) this.kick();
      else if (this.buffer.length > 0) this.timer ??= setTimeout(() => this.kick(), this.maxBatchWaitMs);
    });
  }

  private async processWithRetry(batch: InboundMessage[]): Promise<void> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await this.processBatch(batch);
        this.lastError = undefined;
        return;
      } catch (err) {
        this.counts.writeFailures += 1;
        this.lastError = (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_CHARS);
        this.log('error', 'micro-batch failed; nothing acked, retrying', { messages: batch.length, error: this.lastError, retryInMs: delay });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Decide, write, then ack one micro-batch. Throws (acking nothing) if a write fails. */
  async processBatch(batch: readonly InboundMessage[]): Promise<void> {
    await this.ensureSchema();
    const decisions = await this.decide(batch);
    const toStore = decisions.filter((d): d is StoreDecision => d.kind === 'store');
    const toLedger = decisions.filter((d): d is LedgerDecision => d.kind === 'ledger');

    // All at once, so the publisher batches them: one await per dead letter made a batch of 2,000
    // malformed lines take ~20 s (a 10 ms publish batch each), ~100 lines/s while a bad producer
    // floods the topic (the 1M-line soak stalled on it).
    await Promise.all(
      toLedger
        .filter((d) => d.outcome === 'dead_lettered')
        .map((d) => this.opts.deadLetter(d.m.data, { ...d.m.attributes, reason: d.reason, original_message_id: d.m.id })),
    );
    const scores = toStore.length > 0 ? await this.scorer.scoreLines(toStore.map((d) => d.line)) : { modelVersion: null, predictions: [] };
    const now = new Date().toISOString();
    const orderRows: Row[] = toStore.map((d, i) => this.orderRow(d.m, d.line, scores.predictions[i] ?? null, scores.modelVersion, now));
    // Insert-if-absent on the unique keys (one statement each): another consumer process that
    // stored one of these events, or handled one of these messages, since the lookup in decide()
    // wins, and this batch's copy is not written a second time.
    if (orderRows.length > 0) await this.opts.warehouse.insertNew(ORDERS_STREAM, orderRows);
    const { stored, lost } = await this.settle(toStore, orderRows);
    const ledgered = [...toLedger, ...lost];
    const ledgerRows: Row[] = ledgered.map((d) => ({
      message_id: d.m.id,
      outcome: d.outcome,
      event_id: d.eventId,
      reason: d.reason.slice(0, 1000),
      published_at: publishedAt(d.m),
      recorded_at: now,
    }));
    // Each message goes to one table only, so a crash between these leaves no message half-counted
    // (a lost race is found again on redelivery: its event is stored by another message).
    if (ledgerRows.length > 0) await this.opts.warehouse.insertNew(STREAM_LEDGER, ledgerRows);

    const storedAt = Date.now();
    for (const d of decisions) d.m.ack();
    this.counts.batches += 1;
    for (const { d, row } of stored) {
      this.metrics.latency.observe(Math.max(0, storedAt - Date.parse(String(row.published_at))) / 1000);
      if (row.high_value === true) {
        this.counts.highValue += 1;
        this.metrics.highValue.inc();
        this.log('warn', 'HIGH VALUE ORDER', {
          invoice_no: d.line.invoiceNo, stock_code: d.line.stockCode, line_value: d.line.lineValue,
          customer_id: d.line.customerId, country: d.line.country, event_id: d.line.eventId, threshold: this.threshold,
        });
      }
    }
    this.counts.stored += stored.length;
    this.metrics.stored.inc(stored.length);
    this.counts.lostRaces += lost.length;
    for (const d of ledgered) {
      if (d.outcome === 'duplicate') {
        this.counts.duplicates += 1;
        this.metrics.duplicates.inc();
      } else {
        this.counts.deadLettered += 1;
        this.metrics.deadLettered.inc();
        this.log('warn', 'dead-lettered a malformed message', { message_id: d.m.id, reason: d.reason });
      }
    }
    this.counts.alreadyAccounted += decisions.filter((d) => d.kind === 'ack-only').length;
  }

  /**
   * After the insert, who owns each event: this message (stored) or another one (a duplicate
   * that lost the race: to the ledger). A redelivery of one message to two consumers at once
   * stores it once, but both processes count it in their own counters; the tables count it once.
   */
  private async settle(toStore: readonly StoreDecision[], rows: readonly Row[]): Promise<{ stored: Array<{ d: StoreDecision; row: Row }>; lost: LedgerDecision[] }> {
    const stored: Array<{ d: StoreDecision; row: Row }> = [];
    const lost: LedgerDecision[] = [];
    if (toStore.length === 0) return { stored, lost };
    const owners = await this.storedBy(toStore.map((d) => d.line.eventId));
    for (const [i, d] of toStore.entries()) {
      const owner = owners.get(d.line.eventId);
      if (owner === undefined) throw new Error(`event ${d.line.eventId} is not in orders_stream after the insert`);
      if (owner !== d.m.id) {
        lost.push({ kind: 'ledger', m: d.m, outcome: 'duplicate', eventId: d.line.eventId, reason: `event_id stored by message ${owner} at the same time (another consumer)` });
      } else {
        stored.push({ d, row: rows[i] });
      }
    }
    return { stored, lost };
  }

  private async decide(batch: readonly InboundMessage[]): Promise<Decision[]> {
    const seenIds = new Set<string>();
    const parsed = batch.map((m) => {
      // The same message twice in one batch (a redelivery racing the first copy): handle it once.
      const repeat = seenIds.has(m.id);
      seenIds.add(m.id);
      return { m, repeat, v: validateMessage(m.data, this.limits) };
    });
    const eventIds = [...new Set(parsed.flatMap((p) => (p.v.ok ? [p.v.line.eventId] : [])))];
    const stored = await this.storedBy(eventIds); // event_id -> message_id that stored it
    // Only a malformed message or a duplicate (its event stored by another message) can be in the ledger.
    const ledgerCandidates = parsed
      .filter((p) => {
        if (!p.v.ok) return true;
        const owner = stored.get(p.v.line.eventId);
        return owner !== undefined && owner !== p.m.id;
      })
      .map((p) => p.m.id);
    const accounted = await this.ledgered(ledgerCandidates);

    const storingNow = new Set<string>();
    return parsed.map(({ m, repeat, v }): Decision => {
      if (repeat || accounted.has(m.id)) return { kind: 'ack-only', m };
      if (!v.ok) return { kind: 'ledger', m, outcome: 'dead_lettered', eventId: readEventId(m.data), reason: v.reason };
      const owner = stored.get(v.line.eventId);
      if (owner === m.id) return { kind: 'ack-only', m };
      if (owner !== undefined || storingNow.has(v.line.eventId)) {
        return { kind: 'ledger', m, outcome: 'duplicate', eventId: v.line.eventId, reason: `event_id already ${owner ? `stored by message ${owner}` : 'in this batch'}` };
      }
      storingNow.add(v.line.eventId);
      return { kind: 'store', m, line: v.line };
    });
  }

  /** DuckDB runs one long IN list fastest (a hash lookup); the BigQuery emulator needs short ones. */
  private get inGroup(): number {
    return this.opts.warehouse.backend === 'duckdb' ? Number.MAX_SAFE_INTEGER : IN_GROUP;
  }

  private async storedBy(eventIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (eventIds.length === 0) return out;
    const rows = await this.opts.warehouse.query<{ event_id: string; message_id: string }>(
      `SELECT event_id, message_id FROM orders_stream WHERE ${inList('event_id', eventIds, this.inGroup)}`,
    );
    for (const r of rows) out.set(r.event_id, r.message_id);
    return out;
  }

  private async ledgered(messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const rows = await this.opts.warehouse.query<{ message_id: string }>(
      `SELECT message_id FROM stream_ledger WHERE ${inList('message_id', messageIds, this.inGroup)}`,
    );
    return new Set(rows.map((r) => r.message_id));
  }

  private orderRow(m: InboundMessage, l: ValidLine, prediction: string | null, modelVersion: string | null, now: string): Row {
    return {
      event_id: l.eventId,
      message_id: m.id,
      invoice_no: l.invoiceNo,
      stock_code: l.stockCode,
      description: l.description,
      quantity: l.quantity,
      invoice_ts: l.invoiceTs,
      invoice_date: l.invoiceDate,
      unit_price: l.unitPrice,
      customer_id: l.customerId,
      country: l.country,
      is_cancellation: l.isCancellation,
      line_value: l.lineValue,
      high_value: decimalGreater(l.lineValue, this.threshold),
      predicted_revenue: prediction,
      model_version: prediction === null ? null : modelVersion,
      schema_version: m.attributes.schema_version ?? 'unknown',
      source: m.attributes.source ?? null,
      published_at: publishedAt(m),
      stored_at: now,
      source_sha256: l.sourceSha256,
      source_line_no: l.sourceLineNo,
    };
  }
}

/** The publisher's own timestamp (when publish was called) if present and sane, else Pub/Sub's. */
function publishedAt(m: InboundMessage): string {
  const attr = m.attributes.published_at;
  const ms = attr ? Date.parse(attr) : Number.NaN;
  return new Date(Number.isNaN(ms) ? m.publishTime.getTime() : ms).toISOString();
}

/**
 * `col IN (...) OR col IN (...)` in groups: one query per batch on both backends, and the
 * BigQuery emulator (SQLite underneath) refuses an IN list with more than ~127 items.
 */
function inList(column: string, ids: readonly string[], group: number): string {
  const groups: string[] = [];
  for (let i = 0; i < ids.length; i += group) groups.push(`${column} IN (${literals(ids.slice(i, i + group))})`);
  return groups.join(' OR ');
}

/** SQL string literals for ids. Ids are checked against a strict pattern, so no quoting issues on either backend. */
function literals(ids: readonly string[]): string {
  return ids
    .map((id) => {
      if (!SAFE_ID.test(id)) throw new Error(`unsafe id in dedupe lookup: ${JSON.stringify(id).slice(0, 60)}`);
      return `'${id}'`;
    })
    .join(', ');
}

/** Best effort: the event_id of a malformed message, for the ledger. */
function readEventId(data: Buffer): string | null {
  try {
    const o: unknown = JSON.parse(data.toString('utf8'));
    if (typeof o === 'object' && o !== null && 'event_id' in o && typeof o.event_id === 'string') return o.event_id.slice(0, 200);
  } catch {
    // not JSON: no id
  }
  return null;
}

function defaultLog(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}
