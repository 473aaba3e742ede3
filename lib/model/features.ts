/**
 * Training examples for the revenue model, computed in the warehouse with SQL both backends run.
 *
 * - One example per sale line (same rule as lib/analytics/daily.ts: NOT is_cancellation,
 *   Quantity > 0, UnitPrice > 0).
 * - Target: the invoice's total gross revenue, SUM(Quantity x UnitPrice) over that invoice's sale
 *   lines (exact NUMERIC in the warehouse, converted to a float here: the model is float).
 * - Features: quantity, unit_price, hour (0-23 of InvoiceDate as written), day_of_week
 *   (0 = Monday ... 6 = Sunday), and optionally is_uk and customer_known (0/1).
 * - Daily scoring (`extractDayLines`) reads one day's sale lines with the same SQL expressions
 *   and the same conversion, so a model is scored on exactly the features it was trained on.
 *   Training reads the loaded lines (orders_raw); scoring reads the day's order lines, loaded and
 *   streamed (order_lines, lib/order-lines.ts), the lines the daily KPIs count.
 * - Time-based split on invoice_date: `train` is before `boundary`, `test` is on/after it. An
 *   invoice has one timestamp, so an invoice never straddles the split.
 *
 * Day of week: DuckDB's EXTRACT(DAYOFWEEK) is 0 = Sunday ... 6 = Saturday, BigQuery's is
 * 1 = Sunday ... 7 = Saturday, and the two spell date differences differently (DuckDB
 * `date_diff('day', a, b)`, BigQuery `DATE_DIFF(b, a, DAY)`). So the query takes EXTRACT(DAYOFWEEK)
 * and adds a per-backend shift (`DOW_SHIFT`) inside MOD(..., 7); the test checks both backends
 * agree (2011-12-09, a Friday, is 4).
 */
import type { Params, Warehouse } from '../warehouse/types';
import { assertIsoDate } from '../dates';
import { ensureOrderLines, ORDER_LINES_VIEW } from '../order-lines';

export type Split = 'train' | 'test';

export interface ExtractOptions {
  split: Split;
  /** First day of the test split, YYYY-MM-DD (e.g. 2011-11-01). */
  boundary: string;
  /** Add is_uk and customer_known (default true). */
  flags?: boolean;
  /** Rows per query page (default 100,000). */
  pageSize?: number;
}

export interface TrainingSet {
  /** Row-major, rows x nFeatures. */
  features: Float64Array;
  /** The invoice's gross revenue, per line. */
  target: Float64Array;
  nFeatures: number;
  featureNames: string[];
  rows: number;
  /** Quantity x UnitPrice of the line itself: the naive baseline's prediction. */
  lineRevenue: Float64Array;
  /** First and last invoice_date in the set (undefined when empty). */
  firstDate: string | undefined;
  lastDate: string | undefined;
}

export const BASE_FEATURES = ['quantity', 'unit_price', 'hour', 'day_of_week'] as const;
export const FLAG_FEATURES = ['is_uk', 'customer_known'] as const;

/** Added to EXTRACT(DAYOFWEEK) before MOD 7 so that Monday is 0 on each backend. */
export const DOW_SHIFT: Record<Warehouse['backend'], number> = {
  duckdb: 6, // 0 = Sunday: Monday (1) + 6 = 7 -> 0
  bigquery: 5, // 1 = Sunday: Monday (2) + 5 = 7 -> 0
};

/** SQL expression: day of week of a DATE/TIMESTAMP expression, 0 = Monday ... 6 = Sunday. */
export function dayOfWeekSql(backend: Warehouse['backend'], expr: string): string {
  return `MOD(EXTRACT(DAYOFWEEK FROM ${expr}) + ${DOW_SHIFT[backend]}, 7)`;
}

interface FeatureRow {
  [k: string]: string | number | null;
  line_no: number;
  source_sha256: string;
  quantity: number;
  unit_price: string;
  hour: number;
  dow: number;
  is_uk: number;
  customer_known: number;
  invoice_total: string;
  line_revenue: string;
  invoice_date: string;
}

/**
 * The sale lines of `from` (orders_raw or order_lines) matching `where` and their invoices' totals,
 * as the CTEs `sale_lines` and `invoices`. Shared by training (featureSql) and daily scoring
 * (dayLinesSql), so both read the lines with the same rule and the same target. `origin` and
 * `event_id` (order_lines only) order the lines of an invoice: loaded lines first, in file order, then
 * streamed ones (NULLs spelled out: the backends sort them differently).
 */
function saleLinesCtes(from: 'orders_raw' | typeof ORDER_LINES_VIEW, where: string): string {
  const streamed = from === ORDER_LINES_VIEW ? 'origin, event_id, ' : '';
  return `
    WITH sale_lines AS (
      SELECT source_sha256, line_no, ${streamed}invoice_no, quantity, unit_price, invoice_ts, invoice_date, country, customer_id
      FROM ${from}
      WHERE NOT is_cancellation AND quantity > 0 AND unit_price > 0 AND ${where}
    ),
    invoices AS (
      SELECT invoice_no, SUM(quantity * unit_price) AS invoice_total FROM sale_lines GROUP BY invoice_no
    )`;
}

/** The SELECT list of the features of sale line `s` (aliases read by `writeFeatures`). */
function featureColumnsSql(backend: Warehouse['backend']): string {
  return `s.quantity, s.unit_price,
           EXTRACT(HOUR FROM s.invoice_ts) AS hour,
           ${dayOfWeekSql(backend, 's.invoice_date')} AS dow,
           CASE WHEN s.country = 'United Kingdom' THEN 1 ELSE 0 END AS is_uk,
           CASE WHEN s.customer_id IS NULL THEN 0 ELSE 1 END AS customer_known`;
}

type FeatureColumns = Pick<FeatureRow, 'quantity' | 'unit_price' | 'hour' | 'dow' | 'is_uk' | 'customer_known'>;

/** One row's features into `out` at `offset`, in BASE_FEATURES (+ FLAG_FEATURES) order. */
function writeFeatures(r: FeatureColumns, out: Float64Array, offset: number, flags: boolean): void {
  out[offset] = Number(r.quantity);
  out[offset + 1] = Number(r.unit_price);
  out[offset + 2] = Number(r.hour);
  out[offset + 3] = Number(r.dow);
  if (flags) {
    out[offset + 4] = Number(r.is_uk);
    out[offset + 5] = Number(r.customer_known);
  }
}

/** The SQL of one page of examples, keyset-paged on orders_raw's key (source_sha256, line_no). */
export function featureSql(backend: Warehouse['backend'], split: Split, pageSize: number, after: boolean): string {
  const splitCond = split === 'train' ? 'invoice_date < CAST(@boundary AS DATE)' : 'invoice_date >= CAST(@boundary AS DATE)';
  const afterCond = after ? 'AND (s.source_sha256 > @after_sha OR (s.source_sha256 = @after_sha AND s.line_no > @after_line))' : '';
  return `${saleLinesCtes('orders_raw', splitCond)}
    SELECT s.source_sha256, s.line_no, ${featureColumnsSql(backend)},
           i.invoice_total, s.quantity * s.unit_price AS line_revenue, s.invoice_date
    FROM sale_lines AS s JOIN invoices AS i ON i.invoice_no = s.invoice_no
    WHERE TRUE ${afterCond}
    ORDER BY s.source_sha256, s.line_no
    LIMIT ${pageSize}`;
}

/** Training or test examples, in orders_raw key order (deterministic). */
export async function extractTrainingSet(wh: Warehouse, opts: ExtractOptions): Promise<TrainingSet> {
  assertIsoDate(opts.boundary, 'boundary');
  const flags = opts.flags ?? true;
  const pageSize = opts.pageSize ?? 100_000;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`pageSize must be a positive integer, got ${pageSize}`);
  const featureNames: string[] = [...BASE_FEATURES, ...(flags ? FLAG_FEATURES : [])];
  const d = featureNames.length;

  // Each page is converted to typed arrays at once, so at most one page of row objects is alive.
  const chunks: Array<{ features: Float64Array; target: Float64Array; lineRevenue: Float64Array }> = [];
  let total = 0;
  let last: FeatureRow | undefined;
  let firstDate: string | undefined;
  let lastDate: string | undefined;
  for (;;) {
    const params: Params = last
      ? { boundary: opts.boundary, after_sha: last.source_sha256, after_line: last.line_no }
      : { boundary: opts.boundary };
    const page = await wh.query<FeatureRow>(featureSql(wh.backend, opts.split, pageSize, last !== undefined), params);
    if (page.length === 0) break;
    const chunk = { features: new Float64Array(page.length * d), target: new Float64Array(page.length), lineRevenue: new Float64Array(page.length) };
    page.forEach((r, i) => {
      writeFeatures(r, chunk.features, i * d, flags);
      chunk.target[i] = Number(r.invoice_total);
      chunk.lineRevenue[i] = Number(r.line_revenue);
      if (firstDate === undefined || r.invoice_date < firstDate) firstDate = r.invoice_date;
      if (lastDate === undefined || r.invoice_date > lastDate) lastDate = r.invoice_date;
    });
    chunks.push(chunk);
    total += page.length;
    last = page[page.length - 1];
    if (page.length < pageSize) break;
  }

  const features = new Float64Array(total * d);
  const target = new Float64Array(total);
  const lineRevenue = new Float64Array(total);
  let at = 0;
  for (const c of chunks) {
    features.set(c.features, at * d);
    target.set(c.target, at);
    lineRevenue.set(c.lineRevenue, at);
    at += c.target.length;
  }
  return { features, target, nFeatures: d, featureNames, rows: total, lineRevenue, firstDate, lastDate };
}

/** Every sale line of one day, to score with a trained model (lib/analytics/predictions.ts). */
export interface DayLines {
  date: string;
  rows: number;
  /** Row-major, rows x nFeatures, all six features in `featureNames` order: the same values training computes. */
  features: Float64Array;
  nFeatures: number;
  featureNames: string[];
  /** Per line: its invoice number. Lines of one invoice are adjacent: loaded ones in orders_raw key order, then streamed ones by event_id. */
  invoiceNo: string[];
  /** Per line: its invoice's gross revenue on that day, exact decimal text (the training target, unrounded). */
  invoiceTotal: string[];
}

interface DayLineRow extends FeatureRow {
  invoice_no: string;
}

/** The SQL of one day's sale lines (order_lines) with the training features, grouped by invoice. */
export function dayLinesSql(backend: Warehouse['backend']): string {
  return `${saleLinesCtes(ORDER_LINES_VIEW, 'invoice_date = CAST(@date AS DATE)')}
    SELECT s.invoice_no, s.source_sha256, s.line_no, ${featureColumnsSql(backend)},
           i.invoice_total, s.quantity * s.unit_price AS line_revenue, s.invoice_date
    FROM sale_lines AS s JOIN invoices AS i ON i.invoice_no = s.invoice_no
    ORDER BY s.invoice_no, s.origin, COALESCE(s.source_sha256, ''), COALESCE(s.line_no, 0), COALESCE(s.event_id, '')`;
}

/**
 * One day's sale lines (date = invoice_date, YYYY-MM-DD; loaded and streamed) with the features of extractTrainingSet
 * (flags included). A day is a few thousand lines at most (the busiest, 2011-12-05, has 5,297),
 * so one query. No invoice of the data spans two days, so the day's invoice total is the target.
 */
export async function extractDayLines(wh: Warehouse, date: string): Promise<DayLines> {
  assertIsoDate(date);
  await ensureOrderLines(wh);
  const featureNames: string[] = [...BASE_FEATURES, ...FLAG_FEATURES];
  const d = featureNames.length;
  const rows = await wh.query<DayLineRow>(dayLinesSql(wh.backend), { date });
  const features = new Float64Array(rows.length * d);
  rows.forEach((r, i) => writeFeatures(r, features, i * d, true));
  return {
    date,
    rows: rows.length,
    features,
    nFeatures: d,
    featureNames,
    invoiceNo: rows.map((r) => String(r.invoice_no)),
    invoiceTotal: rows.map((r) => String(r.invoice_total)),
  };
}

