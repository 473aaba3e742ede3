/**
 * Checks that depend on tables other issues own or fill: the quarantine of the day's loads and the
 * stream table. orders_stream is created by the streaming issue; until it exists (or while it
 * has no rows) its checks pass with the note "no stream data" instead of failing the run.
 *
 * orders_stream is defined by the streaming issue (ORDERS_STREAM in lib/stream/tables.ts): the
 * order-line columns of orders_raw (no line_no), plus `event_id` and `stored_at`, the time the
 * line was stored. Only those names are used here, so this module does not import that one.
 */
import type { Warehouse } from '../warehouse/types';
import { result } from './result';
import { limitFor, QualityThresholds } from './thresholds';
import type { CheckResult, ExampleKey } from './types';

export const STREAM_TABLE = 'orders_stream';
export const STREAM_TIMESTAMP_COLUMN = 'stored_at';

/** A query on a table that does not exist (DuckDB "does not exist", BigQuery "Not found: Table", its emulator "Table not found"). */
function isMissingTable(err: unknown): boolean {
  return /does not exist|not found: table|table not found|no such table/i.test(err instanceof Error ? err.message : String(err));
}

/** Run a query on the stream table; undefined when the table does not exist yet. */
async function queryStream<T extends Record<string, unknown>>(wh: Warehouse, sql: string, params: Record<string, string>): Promise<T[] | undefined> {
  try {
    return (await wh.query(sql, params)) as T[];
  } catch (err) {
    if (isMissingTable(err)) return undefined;
    throw err;
  }
}

export async function streamHasDay(wh: Warehouse, date: string): Promise<boolean> {
  const rows = await queryStream<{ n: number }>(wh,
    `SELECT COUNT(*) AS n FROM ${STREAM_TABLE} WHERE invoice_date = CAST(@date AS DATE)`, { date });
  return (rows?.[0]?.n ?? 0) > 0;
}

/** Freshness: minutes between the run and the newest stored stream event. */
export async function streamFreshnessCheck(wh: Warehouse, t: QualityThresholds, now: Date): Promise<CheckResult> {
  const check = 'freshness.stream';
  const rows = await queryStream<{ newest: string | null }>(wh,
    `SELECT MAX(${STREAM_TIMESTAMP_COLUMN}) AS newest FROM ${STREAM_TABLE}`, {});
  const newest = rows?.[0]?.newest ?? null;
  if (newest === null) {
    return result(check, 'orders_stream', null, null, {
      detail: rows === undefined ? 'no stream data: table orders_stream does not exist' : 'no stream data: orders_stream is empty',
    });
  }
  const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(newest)) / 60_000));
  return result(check, 'orders_stream', minutes, limitFor(t, check), { detail: `newest stream event stored ${newest}, ${minutes} minutes before the check` });
}

/**
 * Schema and parsing: quarantined lines of the day's loads. A quarantined line has no trustworthy
 * date, so it belongs to the day of the parsed lines around it in the same file: its line number
 * lies within [first line of the day, first line of the next day) of that file. A file's
 * lines before its first parsed line belong to that first day.
 */
export async function quarantineCheck(wh: Warehouse, date: string, t: QualityThresholds): Promise<CheckResult> {
  const check = 'schema.quarantined_lines';
  const rows = await wh.query<{ line_no: number; reason: string; raw_line: string }>(`
    WITH span AS (
      SELECT source_sha256, MIN(line_no) AS lo, MAX(line_no) AS hi FROM orders_raw
      WHERE invoice_date = CAST(@date AS DATE) GROUP BY source_sha256),
    bounds AS (
      SELECT s.source_sha256, s.lo, s.hi,
             MIN(CASE WHEN r.line_no > s.hi AND r.invoice_date <> CAST(@date AS DATE) THEN r.line_no END) AS next_lo,
             MIN(r.line_no) AS file_lo
      FROM span AS s JOIN orders_raw AS r ON r.source_sha256 = s.source_sha256
      GROUP BY s.source_sha256, s.lo, s.hi)
    SELECT q.line_no, q.reason, q.raw_line
    FROM orders_quarantine AS q JOIN bounds AS b ON b.source_sha256 = q.source_sha256
    WHERE q.line_no >= CASE WHEN b.lo = b.file_lo THEN 0 ELSE b.lo END
      AND q.line_no < COALESCE(b.next_lo, 9223372036854775807)
    ORDER BY q.line_no`, { date });
  const reasons = [...new Set(rows.slice(0, 50).map((r) => r.reason))].slice(0, 3).join('; ');
  return result(check, 'orders_raw', rows.length, limitFor(t, check), {
    flaggedLines: rows.length,
    examples: rows.slice(0, t.examples).map((r) => rawKey(r.raw_line)),
    detail: rows.length === 0 ? 'no quarantined lines in the day\'s loads' : `${rows.length} quarantined lines (e.g. ${reasons}); see orders_quarantine`,
  });
}

/** InvoiceNo and StockCode as far as a broken line still shows them (its first two fields). */
function rawKey(raw: string): ExampleKey {
  const [invoice_no = '', stock_code = ''] = raw.split(',');
  return { invoice_no: invoice_no.slice(0, 40), stock_code: stock_code.slice(0, 40) };
}
