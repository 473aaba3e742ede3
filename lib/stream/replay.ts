/**
 * Replays one real historical day from orders_raw, in time order, at a chosen speed-up: a line
 * invoiced t minutes after the day's first line is published t/speed minutes after the start.
 * Event ids are derived from the source line (`raw-<file hash prefix>-<line no>`), so replaying the
 * same day twice yields duplicates, which the consumer drops. Each message also carries the line's
 * full identity (source_sha256, source_line_no), so order_lines counts a replayed line once: as
 * the loaded line it is.
 */
import { assertIsoDate } from '../dates';
import type { Warehouse } from '../warehouse/types';
import { rawRowToMessage } from './message';
import type { OutboundLine } from './publisher';

export interface ReplayPlan {
  date: string;
  lines: OutboundLine[];
  /** Wall-clock length of the replay at this speed, ms. */
  durationMs: number;
}

export async function planReplay(wh: Warehouse, date: string, speed: number): Promise<ReplayPlan> {
  assertIsoDate(date);
  if (!(speed > 0)) throw new Error(`speed must be positive, got ${speed}`);
  const rows = await wh.query(
    `SELECT invoice_no, stock_code, description, quantity, invoice_ts, unit_price, customer_id, country, source_sha256, line_no
     FROM orders_raw WHERE invoice_date = CAST(@date AS DATE) ORDER BY invoice_ts, line_no`,
    { date },
  );
  if (rows.length === 0) return { date, lines: [], durationMs: 0 };
  const first = Date.parse(String(rows[0].invoice_ts));
  const lines = rows.map((r): OutboundLine => {
    const body = rawRowToMessage(r);
    return {
      body: { event_id: `raw-${String(r.source_sha256).slice(0, 12)}-${String(r.line_no)}`, ...body },
      orderingKey: body.InvoiceNo,
      atMs: (Date.parse(String(r.invoice_ts)) - first) / speed,
    };
  });
  return { date, lines, durationMs: lines[lines.length - 1].atMs ?? 0 };
}
