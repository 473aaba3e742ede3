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

/*
 * The whole report of a day is ONE statement over order_lines: the CTE `day_lines` is the day's
 * lines (the date filter prunes both tables of the view), and the KPIs, the top products and the
 * countries are aggregates of it, returned as rows of one UNION ALL (column `part`). DuckDB
 * materialises a CTE read more than once, so the day is scanned once; three statements, each
 * binding the view and scanning the day, took ~40% longer per day (docs/analytics.md). BigQuery
 * prunes each read of the CTE to the day's partition.
 */
const DAY_LINES_CTE = `day_lines AS (
    SELECT invoice_no, stock_code, description, quantity, unit_price, customer_id, country, is_cancellation, origin,
           (NOT is_cancellation AND quantity > 0 AND unit_price > 0) AS is_sale
    FROM ${ORDER_LINES_VIEW} WHERE invoice_date = CAST(@date AS DATE))`;

const KPIS_CTE = `kpis AS (
    SELECT COUNT(DISTINCT CASE WHEN is_sale THEN invoice_no END) AS orders,
           COALESCE(SUM(CASE WHEN is_sale THEN quantity * unit_price END), 0) AS gross,
           COALESCE(SUM(CASE WHEN is_cancellation THEN ABS(quantity * unit_price) END), 0) AS refunds,
           COUNT(DISTINCT CASE WHEN is_cancellation THEN invoice_no END) AS cancelled,
           COUNT(DISTINCT CASE WHEN is_sale THEN customer_id END) AS customers,
           COALESCE(SUM(CASE WHEN is_sale THEN quantity END), 0) AS items,
           COALESCE(SUM(CASE WHEN is_sale THEN 1 ELSE 0 END), 0) AS sale_lines,
           COALESCE(SUM(CASE WHEN is_cancellation THEN 1 ELSE 0 END), 0) AS refund_lines,
           COUNT(*) AS lines,
           COALESCE(SUM(CASE WHEN origin = 'stream' THEN 1 ELSE 0 END), 0) AS stream_lines
    FROM day_lines)`;

// Ranked in SQL (ties by stock code / country), so the rows can come back in any order.
const PRODUCTS_CTE = `products AS (
    SELECT stock_code, description, revenue, quantity, ROW_NUMBER() OVER (ORDER BY revenue DESC, stock_code) AS rank
    FROM (SELECT stock_code, MIN(description) AS description, SUM(quantity * unit_price) AS revenue, SUM(quantity) AS quantity
          FROM day_lines WHERE is_sale GROUP BY stock_code) AS p)`;

const COUNTRIES_CTE = `countries AS (
    SELECT country, gross_revenue, orders, ROW_NUMBER() OVER (ORDER BY gross_revenue DESC, country) AS rank
    FROM (SELECT country, SUM(quantity * unit_price) AS gross_revenue, COUNT(DISTINCT invoice_no) AS orders
          FROM day_lines WHERE is_sale GROUP BY country) AS c)`;

/** One row shape for all parts: `name`/`label` text, `amount`/`amount2` NUMERIC, `n1`..`n8` INT64. */
interface ReportRow {
  [k: string]: string | number | null;
  part: 'kpis' | 'product' | 'country';
  name: string | null;
  label: string | null;
  amount: string | null;
  amount2: string | null;
  n1: number | null; n2: number | null; n3: number | null; n4: number | null;
  n5: number | null; n6: number | null; n7: number | null; n8: number | null;
}

function reportSql(parts: { products: number | false; countries: boolean }): string {
  const ctes = [DAY_LINES_CTE, KPIS_CTE];
  const selects = [`SELECT 'kpis' AS part, CAST(NULL AS STRING) AS name, CAST(NULL AS STRING) AS label, gross AS amount, refunds AS amount2,
           orders AS n1, cancelled AS n2, customers AS n3, items AS n4, sale_lines AS n5, refund_lines AS n6, lines AS n7, stream_lines AS n8
    FROM kpis`];
  if (parts.products !== false) {
    ctes.push(PRODUCTS_CTE);
    selects.push(`SELECT 'product', stock_code, description, revenue, NULL, quantity, rank, NULL, NULL, NULL, NULL, NULL, NULL
    FROM products WHERE rank <= ${Math.max(1, Math.floor(parts.products))}`);
  }
  if (parts.countries) {
    ctes.push(COUNTRIES_CTE);
    selects.push(`SELECT 'country', country, NULL, gross_revenue, NULL, orders, rank, NULL, NULL, NULL, NULL, NULL, NULL FROM countries`);
  }
  return `WITH ${ctes.join(',\n  ')}\n  ${selects.join('\n  UNION ALL ')}`;
}

async function queryReport(wh: Warehouse, date: string, parts: { products: number | false; countries: boolean }): Promise<DailyReport> {
  assertIsoDate(date);
  await ensureOrderLines(wh);
  const rows = await wh.query<ReportRow>(reportSql(parts), { date });
  const k = rows.find((r) => r.part === 'kpis');
  if (!k || !k.n7) throw new NoDataForDateError(`no order lines on ${date} in ${ORDER_LINES_VIEW} (orders_raw and orders_stream)`);
  const byRank = (a: ReportRow, b: ReportRow) => Number(a.n2) - Number(b.n2);
  const kpis = await kpisOf(wh, date, k);
  const topProducts = rows.filter((r) => r.part === 'product').sort(byRank).map((r) => ({
    rank: Number(r.n2), stock_code: String(r.name), description: r.label, revenue: String(r.amount), quantity: Number(r.n1),
  }));
  const countries = rows.filter((r) => r.part === 'country').sort(byRank).map((r) => ({
    country: String(r.name), gross_revenue: String(r.amount), orders: Number(r.n1),
  }));
  return { kpis, topProducts, countries };
}

async function kpisOf(wh: Warehouse, date: string, k: ReportRow): Promise<DailyKpis> {
  const gross = String(k.amount);
  const refunds = String(k.amount2);
  const orders = Number(k.n1);
  const lines = Number(k.n7);
  const streamLines = Number(k.n8);
  return {
    date,
    orders,
    gross_revenue: gross,
    refunds,
    net_revenue: subtractDecimal(gross, refunds),
    cancelled_orders: Number(k.n2),
    unique_customers: Number(k.n3),
    items_sold: Number(k.n4),
    avg_order_value: divideToPlaces(gross, orders, 2),
    sale_lines: Number(k.n5),
    refund_lines: Number(k.n6),
    total_lines: lines,
    ...(streamLines === 0
      ? { batch_orders: orders, batch_lines: lines, stream_orders: 0, stream_lines: 0 }
      : await ordersByOrigin(wh, date, lines, streamLines)),
  };
}

/**
 * Orders per origin on a day with streamed lines (on a day without, every order is a batch one:
 * the common case needs no second query). An invoice with sale lines of both origins counts in both.
 */
async function ordersByOrigin(wh: Warehouse, date: string, lines: number, streamLines: number): Promise<Pick<DailyKpis, 'batch_orders' | 'batch_lines' | 'stream_orders' | 'stream_lines'>> {
  const [r] = await wh.query<{ batch_orders: number; stream_orders: number }>(`WITH ${DAY_LINES_CTE}
    SELECT COUNT(DISTINCT CASE WHEN is_sale AND origin = 'batch' THEN invoice_no END) AS batch_orders,
           COUNT(DISTINCT CASE WHEN is_sale AND origin = 'stream' THEN invoice_no END) AS stream_orders
    FROM day_lines`, { date });
  return { batch_orders: Number(r?.batch_orders ?? 0), batch_lines: lines - streamLines, stream_orders: Number(r?.stream_orders ?? 0), stream_lines: streamLines };
}

export async function computeDailyKpis(wh: Warehouse, date: string): Promise<DailyKpis> {
  return (await queryReport(wh, date, { products: false, countries: false })).kpis;
}

export async function computeTopProducts(wh: Warehouse, date: string, limit = 10): Promise<TopProduct[]> {
  return (await queryReport(wh, date, { products: limit, countries: false })).topProducts;
}

export async function computeCountryMetrics(wh: Warehouse, date: string): Promise<CountryMetrics[]> {
  return (await queryReport(wh, date, { products: false, countries: true })).countries;
}

/** The day's KPIs, top 10 products and countries: one statement (see above). */
export async function computeDailyReport(wh: Warehouse, date: string): Promise<DailyReport> {
  return queryReport(wh, date, { products: 10, countries: true });
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
