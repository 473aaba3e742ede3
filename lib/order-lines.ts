/**
 * One order fact: `order_lines`, the day's order lines whatever their way in.
 *
 *   order_lines = every loaded line (orders_raw, origin 'batch')
 *               + every streamed line (orders_stream, origin 'stream') that is not a loaded line
 *
 * A streamed line *is* a loaded line when it carries that line's identity: the SHA-256 of the
 * source file's text and its line number (orders_raw's key, source_sha256 + line_no). `stream
 * replay` publishes lines of orders_raw with their identity (message fields source_sha256 and
 * source_line_no), so a replayed day counts once. Nothing else is merged: lines equal in content
 * are different lines (the data has 5,268 exact repeats, and the KPIs count them), and a streamed
 * line without an identity, or whose file is not loaded, always counts. The match also requires
 * the same invoice_date (a replayed line keeps its timestamp), which lets a filter on the day
 * prune orders_raw inside the anti-join too.
 *
 * `s.source_sha256 IS NULL OR` says outright that a line without identity always counts; it also
 * spares the BigQuery emulator (SQLite underneath, which runs the NOT EXISTS as a nested loop
 * over orders_raw) the lookup for every generated line. DuckDB and BigQuery run the NOT EXISTS as
 * a hash anti-join.
 *
 * It is a view on both backends, so it is never stale: a file loaded after its lines were
 * streamed takes them over at once. Every consumer of order lines reads it: the daily KPIs, top
 * products and countries, the predicted-vs-actual scoring, and the data-quality checks about
 * order lines. The view exposes the shared order-line columns, `origin`, and each line's identity
 * (`source_sha256`, `line_no`; NULL for a streamed line without one) and `event_id` (stream only).
 */
import { ORDER_LINE_COLUMNS, ORDERS_RAW } from './schema';
import { ORDERS_STREAM } from './stream/tables';
import type { SchemaObject, ViewDef, Warehouse } from './warehouse/types';

export const ORDER_LINES_VIEW = 'order_lines';

/** `origin` of a line in order_lines. */
export type LineOrigin = 'batch' | 'stream';

const LINE_COLUMNS = ORDER_LINE_COLUMNS.map((c) => c.name);

export const ORDER_LINES: ViewDef = {
  kind: 'view',
  name: ORDER_LINES_VIEW,
  sql: (t) => `
SELECT ${LINE_COLUMNS.join(', ')},
       'batch' AS origin, source_sha256, line_no, CAST(NULL AS STRING) AS event_id
FROM ${t(ORDERS_RAW.name)}
UNION ALL
SELECT ${LINE_COLUMNS.map((c) => `s.${c}`).join(', ')},
       'stream' AS origin, s.source_sha256, s.source_line_no AS line_no, s.event_id
FROM ${t(ORDERS_STREAM.name)} AS s
WHERE s.source_sha256 IS NULL OR NOT EXISTS (
  SELECT 1 FROM ${t(ORDERS_RAW.name)} AS r
  WHERE r.source_sha256 = s.source_sha256 AND r.line_no = s.source_line_no AND r.invoice_date = s.invoice_date)`,
};

/** Both tables the view reads, then the view: what every writer and reader of order lines ensures. */
export const ORDER_LINES_SCHEMA: readonly SchemaObject[] = [ORDERS_RAW, ORDERS_STREAM, ORDER_LINES];

const ensured = new WeakMap<Warehouse, Promise<void>>();

/**
 * Create (or migrate) orders_raw and orders_stream and the view, once per warehouse object and
 * process: readers call this before every query, and on BigQuery each check is API calls.
 */
export function ensureOrderLines(wh: Warehouse): Promise<void> {
  let done = ensured.get(wh);
  if (!done) {
    done = wh.ensureSchema(ORDER_LINES_SCHEMA);
    ensured.set(wh, done);
    done.catch(() => ensured.delete(wh)); // a failure is not remembered: the next call tries again
  }
  return done;
}
