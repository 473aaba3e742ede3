/**
 * Daily KPIs of the Online Retail data, computed in the warehouse with SQL both backends run.
 *
 * Definitions (docs/analytics.md uses the same words):
 * - a sale line: InvoiceNo does not start with "C", Quantity > 0 and UnitPrice > 0;
 * - a refund line: InvoiceNo starts with "C";
 * - the day is the calendar date of InvoiceDate as written, with no time-zone shift;
 * - the day's order lines are `order_lines` (lib/order-lines.ts): the loaded lines plus the
 *   streamed lines that are not replays of loaded ones. Each day's row records how many orders
 *   and lines came from each origin (batch = orders_raw, stream = orders_stream).
 * Money stays exact: sums are NUMERIC in the warehouse and decimal strings in Node.
 */
import type { TableDef, Warehouse } from '../warehouse/types';
import { ensureOrderLines, ORDER_LINES_VIEW } from '../order-lines';
import { divideToPlaces, subtractDecimal } from './money';
import { assertDateRange, assertIsoDate } from '../dates';
import { NoDataForDateError } from '../errors';

export const DAILY_METRICS: TableDef = {
  name: 'daily_metrics',
  columns: [
    { name: 'report_date', type: 'DATE' },
    { name: 'orders', type: 'INT64' },
    { name: 'gross_revenue', type: 'NUMERIC' },
    { name: 'refunds', type: 'NUMERIC' },
    { name: 'net_revenue', type: 'NUMERIC' },
    { name: 'cancelled_orders', type: 'INT64' },
    { name: 'unique_customers', type: 'INT64' },
    { name: 'items_sold', type: 'INT64' },
    { name: 'avg_order_value', type: 'NUMERIC' },
    { name: 'sale_lines', type: 'INT64' },
    { name: 'refund_lines', type: 'INT64' },
    { name: 'total_lines', type: 'INT64' },
    { name: 'computed_at', type: 'TIMESTAMP' },
    { name: 'workflow_id', type: 'STRING', nullable: true },
    // Where the day's order lines came from. Added after the first release: an older warehouse
    // gets the columns on the next run, and its earlier rows keep NULL (not recorded) until re-run.
    { name: 'batch_orders', type: 'INT64', nullable: true, addedLater: true },
    { name: 'batch_lines', type: 'INT64', nullable: true, addedLater: true },
    { name: 'stream_orders', type: 'INT64', nullable: true, addedLater: true },
    { name: 'stream_lines', type: 'INT64', nullable: true, addedLater: true },
  ],
  key: ['report_date'],
  partitionBy: 'report_date',
};

export const DAILY_TOP_PRODUCTS: TableDef = {
  name: 'daily_top_products',
  columns: [
    { name: 'report_date', type: 'DATE' },
    { name: 'rank', type: 'INT64' },
    { name: 'stock_code', type: 'STRING' },
    { name: 'description', type: 'STRING', nullable: true },
    { name: 'revenue', type: 'NUMERIC' },
    { name: 'quantity', type: 'INT64' },
  ],
  key: ['report_date', 'rank'],
};

export const DAILY_COUNTRY_METRICS: TableDef = {
  name: 'daily_country_metrics',
  columns: [
    { name: 'report_date', type: 'DATE' },
    { name: 'country', type: 'STRING' },
    { name: 'gross_revenue', type: 'NUMERIC' },
    { name: 'orders', type: 'INT64' },
  ],
  key: ['report_date', 'country'],
};

export const ANALYTICS_TABLES: readonly TableDef[] = [DAILY_METRICS, DAILY_TOP_PRODUCTS, DAILY_COUNTRY_METRICS];

export interface DailyKpis {
  date: string;
  orders: number;
  gross_revenue: string;
  refunds: string;
  net_revenue: string;
  cancelled_orders: number;
  unique_customers: number;
  items_sold: number;
  avg_order_value: string;
  sale_lines: number;
  refund_lines: number;
  total_lines: number;
  /** Orders (distinct invoices with a sale line) among the loaded lines (orders_raw). */
  batch_orders: number;
  /** The day's lines from orders_raw. */
  batch_lines: number;
  /** Orders among the streamed lines that count (orders_stream minus replays of loaded lines). */
  stream_orders: number;
  /** The day's streamed lines that count; batch_lines + stream_lines = total_lines. */
  stream_lines: number;
}

export interface TopProduct {
  rank: number;
  stock_code: string;
  description: string | null;
  revenue: string;
  quantity: number;
}

export interface CountryMetrics {
  country: string;
  gross_revenue: string;
  orders: number;
}

export interface DailyReport {
  kpis: DailyKpis;
  topProducts: TopProduct[];
  countries: CountryMetrics[];
}

// One scan of the day's lines; `is_sale` is spelled out once so every KPI uses the same rule.
const DAY_LINES = `
  SELECT *, (NOT is_cancellation AND quantity > 0 AND unit_price > 0) AS is_sale
  FROM ${ORDER_LINES_VIEW} WHERE invoice_date = CAST(@date AS DATE)`;

export async function computeDailyKpis(wh: Warehouse, date: string): Promise<DailyKpis> {
  assertIsoDate(date);
  await ensureOrderLines(wh);
  const [r] = await wh.query<{
    orders: number; gross: string; refunds: string; cancelled: number; customers: number;
    items: number; sale_lines: number; refund_lines: number; lines: number;
    batch_orders: number; batch_lines: number; stream_orders: number; stream_lines: number;
  }>(`
    SELECT COUNT(DISTINCT CASE WHEN is_sale THEN invoice_no END) AS orders,
           COALESCE(SUM(CASE WHEN is_sale THEN quantity * unit_price END), 0) AS gross,
           COALESCE(SUM(CASE WHEN is_cancellation THEN ABS(quantity * unit_price) END), 0) AS refunds,
           COUNT(DISTINCT CASE WHEN is_cancellation THEN invoice_no END) AS cancelled,
           COUNT(DISTINCT CASE WHEN is_sale THEN customer_id END) AS customers,
           COALESCE(SUM(CASE WHEN is_sale THEN quantity END), 0) AS items,
           COALESCE(SUM(CASE WHEN is_sale THEN 1 ELSE 0 END), 0) AS sale_lines,
           COALESCE(SUM(CASE WHEN is_cancellation THEN 1 ELSE 0 END), 0) AS refund_lines,
           COUNT(*) AS lines,
           COUNT(DISTINCT CASE WHEN is_sale AND origin = 'batch' THEN invoice_no END) AS batch_orders,
           COALESCE(SUM(CASE WHEN origin = 'batch' THEN 1 ELSE 0 END), 0) AS batch_lines,
           COUNT(DISTINCT CASE WHEN is_sale AND origin = 'stream' THEN invoice_no END) AS stream_orders,
           COALESCE(SUM(CASE WHEN origin = 'stream' THEN 1 ELSE 0 END), 0) AS stream_lines
    FROM (${DAY_LINES}) AS day_lines`, { date });
  if (!r || r.lines === 0) throw new NoDataForDateError(`no order lines on ${date} in ${ORDER_LINES_VIEW} (orders_raw and orders_stream)`);
  const gross = String(r.gross);
  const refunds = String(r.refunds);
  return {
    date,
    orders: r.orders,
    gross_revenue: gross,
    refunds,
    net_revenue: subtractDecimal(gross, refunds),
    cancelled_orders: r.cancelled,
    unique_customers: r.customers,
    items_sold: r.items,
    avg_order_value: divideToPlaces(gross, r.orders, 2),
    sale_lines: r.sale_lines,
    refund_lines: r.refund_lines,
    total_lines: r.lines,
    batch_orders: r.batch_orders,
    batch_lines: r.batch_lines,
    stream_orders: r.stream_orders,
    stream_lines: r.stream_lines,
  };
}

export async function computeTopProducts(wh: Warehouse, date: string, limit = 10): Promise<TopProduct[]> {
  await ensureOrderLines(wh);
  const rows = await wh.query<{ stock_code: string; description: string | null; revenue: string; quantity: number }>(`
    SELECT stock_code, MIN(description) AS description,
           SUM(quantity * unit_price) AS revenue, SUM(quantity) AS quantity
    FROM (${DAY_LINES}) AS day_lines
    WHERE is_sale
    GROUP BY stock_code
    ORDER BY revenue DESC, stock_code
    LIMIT ${Math.max(1, Math.floor(limit))}`, { date });
  return rows.map((r, i) => ({ rank: i + 1, ...r, revenue: String(r.revenue) }));
}

export async function computeCountryMetrics(wh: Warehouse, date: string): Promise<CountryMetrics[]> {
  await ensureOrderLines(wh);
  const rows = await wh.query<{ country: string; gross_revenue: string; orders: number }>(`
    SELECT country, SUM(quantity * unit_price) AS gross_revenue, COUNT(DISTINCT invoice_no) AS orders
    FROM (${DAY_LINES}) AS day_lines
    WHERE is_sale
    GROUP BY country
    ORDER BY gross_revenue DESC, country`, { date });
  return rows.map((r) => ({ ...r, gross_revenue: String(r.gross_revenue) }));
}

export async function computeDailyReport(wh: Warehouse, date: string): Promise<DailyReport> {
  const kpis = await computeDailyKpis(wh, date);
  const [topProducts, countries] = await Promise.all([computeTopProducts(wh, date), computeCountryMetrics(wh, date)]);
  return { kpis, topProducts, countries };
}

/**
 * Store one day's report. daily_metrics is upserted by date; the per-day detail tables are
 * replaced for that date (a re-run may rank other products or see fewer countries).
 */
export async function storeDailyReport(wh: Warehouse, report: DailyReport, workflowId: string | null): Promise<void> {
  await wh.ensureSchema(ANALYTICS_TABLES);
  const date = report.kpis.date;
  await wh.upsert(DAILY_METRICS, [{ ...kpisRow(report.kpis), computed_at: new Date().toISOString(), workflow_id: workflowId }]);
  for (const table of [DAILY_TOP_PRODUCTS, DAILY_COUNTRY_METRICS]) {
    await wh.execute(`DELETE FROM ${table.name} WHERE report_date = CAST(@date AS DATE)`, { date });
  }
  await wh.insertRows(DAILY_TOP_PRODUCTS, report.topProducts.map((p) => ({ report_date: date, ...p })));
  await wh.insertRows(DAILY_COUNTRY_METRICS, report.countries.map((c) => ({ report_date: date, ...c })));
}

function kpisRow(k: DailyKpis): Record<string, string | number> {
  const { date, ...rest } = k;
  return { report_date: date, ...rest };
}

/** First and last invoice dates loaded, or nulls when orders_raw is empty. */
export async function loadedDateRange(wh: Warehouse): Promise<{ first: string | null; last: string | null }> {
  const [r] = await wh.query<{ first: string | null; last: string | null }>(
    'SELECT MIN(invoice_date) AS first, MAX(invoice_date) AS last FROM orders_raw',
  );
  return r ?? { first: null, last: null };
}

/** Dates in [from, to] that have at least one order line (loaded or streamed), ascending. */
export async function datesWithData(wh: Warehouse, from: string, to: string): Promise<string[]> {
  assertDateRange(from, to);
  await ensureOrderLines(wh);
  const rows = await wh.query<{ d: string }>(
    `SELECT DISTINCT invoice_date AS d FROM ${ORDER_LINES_VIEW}
     WHERE invoice_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) ORDER BY d`,
    { from, to },
  );
  return rows.map((r) => r.d);
}
