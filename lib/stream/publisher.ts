/**
 * Publishes order lines to the orders topic through the EventBus (which batches: 500 messages or
 * 20 ms per request). InvoiceNo is the ordering key; `schema_version`, `source` and
 * `published_at` travel as attributes. Optional pacing (`rate` lines/s) and a bounded number of
 * unconfirmed publishes keep memory flat on long runs.
 */
import type { EventBus } from '../eventbus/types';
import { SCHEMA_VERSION, type OrderLineMessage } from './message';

export interface OutboundLine {
  /** A message body, or raw bytes (tests publish malformed payloads this way). */
  body: OrderLineMessage | Buffer;
  orderingKey?: string;
  /** Extra attributes (override the defaults). */
  attributes?: Record<string, string>;
  /** Pacing: publish no earlier than this many ms after the start (replay). */
  atMs?: number;
}

export interface PublishOptions {
  topic: string;
  source: string;
  /** Lines per second; unset or 0 publishes as fast as the bus takes them. */
  rate?: number;
  /** Stop after this long (ms), whatever is left. */
  durationMs?: number;
  /** Unconfirmed publishes allowed at once. */
  maxInFlight?: number;
  onProgress?: (published: number) => void;
  /** Checked between lines: return true to stop early (SIGINT). */
  stopRequested?: () => boolean;
}

export interface PublishStats {
  published: number;
  failed: number;
  seconds: number;
  /** Published lines per second over the run. */
  rate: number;
  firstError?: string;
}

const DEFAULT_MAX_IN_FLIGHT = 20_000;

export async function publishLines(bus: EventBus, lines: Iterable<OutboundLine> | AsyncIterable<OutboundLine>, opts: PublishOptions): Promise<PublishStats> {
  const started = performance.now();
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const inFlight = new Set<Promise<void>>();
  let published = 0;
  let failed = 0;
  let sent = 0;
  let firstError: string | undefined;
  let lastProgress = 0;
  for await (const line of lines) {
    if (opts.stopRequested?.()) break;
    const elapsed = performance.now() - started;
    if (opts.durationMs !== undefined && elapsed >= opts.durationMs) break;
    // Pacing: by explicit schedule (replay) or by rate; sleeping in ≥ 5 ms steps keeps timers cheap.
    const due = line.atMs ?? (opts.rate ? (sent / opts.rate) * 1000 : 0);
    if (due - elapsed >= 5) await sleep(due - elapsed);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const attributes = { schema_version: SCHEMA_VERSION, source: opts.source, published_at: new Date().toISOString(), ...line.attributes };
    const p: Promise<void> = bus
      .publish(opts.topic, line.body, { attributes, orderingKey: line.orderingKey })
      .then(
        () => {
          published += 1;
        },
        (err: unknown) => {
          failed += 1;
          firstError ??= err instanceof Error ? err.message : String(err);
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent += 1;
    if (opts.onProgress && sent - lastProgress >= 500) {
      lastProgress = sent;
      opts.onProgress(published);
    }
  }
  await Promise.all(inFlight);
  opts.onProgress?.(published);
  const seconds = (performance.now() - started) / 1000;
  return { published, failed, seconds, rate: seconds > 0 ? published / seconds : 0, firstError };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
