/**
 * What the dashboard shows (api/dashboard/, routes in api/routes/dashboard.ts), read from the
 * warehouse through the port only, so the same SQL runs on DuckDB and BigQuery:
 *
 * - KPIs: `daily_metrics` rows (the daily analytics workflow's output) for the range, their exact
 *   sums, and tiles for the anchor day, the day before, the 7 days ending on the anchor and the 7
 *   before those. The anchor is the shop's today when daily_metrics has it, else the newest day it
 *   has (the 2010-2011 data set has no "today"); the answer says which days each tile covers.
 *   Unique customers over several days are counted again over `order_lines` (a sum of daily counts
 *   would count a returning customer once per day).
 * - Countries: `daily_country_metrics` summed over the range, the top 10 and one "Other" row.
 * - Products: the range's top products by revenue over `order_lines` with the daily analytics'
 *   sale rule (daily_top_products keeps only each day's top 10, whose sum is not the range's top).
 * - Predictions: `daily_predictions` per day with the model version that scored it; the range MAE
 *   is the mean absolute error over the range's orders (`order_predictions`), not a mean of means.
 * - Quality: `dq_results` as a day x check grid, and one day's results in full.
 * - Models: `model_versions` and the promotion log `model_promotions` (lib/model/registry.ts).
 * - Stream: the accounting totals (lib/stream/accounting.ts) and the latest high-value lines.
 *
 * Money stays exact: NUMERIC sums come back as decimal strings and are added with BigInt here.
 * Links to the Temporal Web UI are built by the caller (`DashboardLinks`): this layer only knows
 * the workflow ids stored in the tables' workflow_id columns.
 */
import { ANALYTICS_TABLES } from '../analytics/daily';
import { divideToPlaces } from '../analytics/money';
import { PREDICTION_TABLES } from '../analytics/predictions';
import { addDays } from '../dates';
import { listModels, MODEL_TABLES, promotionHistory } from '../model/registry';
import { ensureOrderLines, ORDER_LINES_VIEW } from '../order-lines';
import { DQ_RESULTS } from '../quality/results';
import { SEVERITY_RANK, type Severity } from '../quality/thresholds';
import { streamTotals } from '../stream/accounting';
import { STREAM_TABLES } from '../stream/tables';
import { decimalToScaled, scaledToDecimal } from '../warehouse/values';
import type { Row, Warehouse } from '../warehouse/types';

export interface DashboardLinks {
  /** The Web UI page of a workflow id. */
  workflow(workflowId: string): string;
  /** The Web UI list of training runs that were running when a model version was registered. */
  trainingRunsAt(createdAt: string): string;
}

export interface DateRange {
  from: string;
  to: string;
}

const SCALE = 9;
const SALE = 'NOT is_cancellation AND quantity > 0 AND unit_price > 0';

const ensured = new WeakMap<Warehouse, Promise<void>>();

/**
 * Every table the dashboard reads, once per warehouse object: a fresh warehouse answers with empty
 * panels instead of "table does not exist". Nothing is written when the tables are there.
 */
export function ensureDashboardSchema(wh: Warehouse): Promise<void> {
  let done = ensured.get(wh);
  if (!done) {
    done = (async () => {
      await ensureOrderLines(wh);
      await wh.ensureSchema([...ANALYTICS_TABLES, ...PREDICTION_TABLES, DQ_RESULTS, ...MODEL_TABLES, ...STREAM_TABLES]);
    })();
    ensured.set(wh, done);
    done.catch(() => ensured.delete(wh));
  }
  return done;
}

export function sumDecimals(values: ReadonlyArray<string | null | undefined>): string {
  let total = 0n;
  for (const v of values) if (v !== null && v !== undefined) total += decimalToScaled(String(v), SCALE);
  return scaledToDecimal(total, SCALE);
}

const str = (v: unknown): string => (v === null || v === undefined ? '0' : String(v));
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

// ---- range ------------------------------------------------------------------------------------

export interface AnalysedRange {
  /** First and last day in daily_metrics (null: nothing analysed yet). */
  first: string | null;
  last: string | null;
  days: number;
}

export async function analysedRange(wh: Warehouse): Promise<AnalysedRange> {
  await ensureDashboardSchema(wh);
  const [r] = await wh.query<{ first: string | null; last: string | null; days: number }>(
    'SELECT MIN(report_date) AS first, MAX(report_date) AS last, COUNT(*) AS days FROM daily_metrics');
  return { first: r?.first ?? null, last: r?.last ?? null, days: num(r?.days) };
}

// ---- KPIs -------------------------------------------------------------------------------------

/** Orders and lines by origin; null when none of the days recorded them (rows older than the columns). */
export interface SourceSplit {
  batch_orders: number;
  stream_orders: number;
  batch_lines: number;
  stream_lines: number;
  /** stream_orders / (batch_orders + stream_orders), 0..1; null without orders. */
  stream_order_share: number | null;
  stream_line_share: number | null;
  /** Days of the period whose row has the per-source columns filled. */
  recorded_days: number;
}

export interface DayKpis {
  date: string;
  orders: number;
  gross_revenue: string;
  net_revenue: string;
  refunds: string;
  cancelled_orders: number;
  unique_customers: number;
  items_sold: number;
  avg_order_value: string;
  total_lines: number;
  source: SourceSplit | null;
  workflow_id: string | null;
  workflow_url: string | null;
}

export interface PeriodKpis {
  label: string;
  from: string;
  to: string;
  /** Days of the period with a daily_metrics row. */
  days_with_data: number;
  orders: number;
  gross_revenue: string;
  net_revenue: string;
  refunds: string;
  cancelled_orders: number;
  unique_customers: number;
  avg_order_value: string;
  source: SourceSplit | null;
}

export interface KpisAnswer {
  range: DateRange;
  totals: PeriodKpis;
  days: DayKpis[];
  tiles: {
    /** The day the tiles count back from, and why that one. */
    anchor: string | null;
    today: string;
    anchor_is_today: boolean;
    anchor_day: PeriodKpis | null;
    previous_day: PeriodKpis | null;
    last_7: PeriodKpis | null;
    previous_7: PeriodKpis | null;
  };
}

/**
 * The daily_metrics columns the dashboard shows; the day as text (cheaper to read than a DATE).
 * The per-source columns exist once ensureSchema has run (it adds them to an older table); rows
 * written before them hold NULL there.
 */
const DAY_COLUMNS = `CAST(report_date AS STRING) AS report_date, orders, gross_revenue, net_revenue, refunds, cancelled_orders,
  unique_customers, items_sold, avg_order_value, total_lines, workflow_id, batch_orders, batch_lines, stream_orders, stream_lines`;

function splitOf(rows: readonly Row[]): SourceSplit | null {
  const recorded = rows.filter((r) => r.batch_orders !== null && r.batch_orders !== undefined);
  if (recorded.length === 0) return null;
  const sum = (k: string) => recorded.reduce((acc, r) => acc + num(r[k]), 0);
  const [bo, so, bl, sl] = [sum('batch_orders'), sum('stream_orders'), sum('batch_lines'), sum('stream_lines')];
  return {
    batch_orders: bo, stream_orders: so, batch_lines: bl, stream_lines: sl,
    stream_order_share: bo + so > 0 ? so / (bo + so) : null,
    stream_line_share: bl + sl > 0 ? sl / (bl + sl) : null,
    recorded_days: recorded.length,
  };
}

function dayOf(r: Row, links: DashboardLinks): DayKpis {
  const workflowId = r.workflow_id === null || r.workflow_id === undefined ? null : String(r.workflow_id);
  return {
    date: String(r.report_date),
    orders: num(r.orders),
    gross_revenue: str(r.gross_revenue),
    net_revenue: str(r.net_revenue),
    refunds: str(r.refunds),
    cancelled_orders: num(r.cancelled_orders),
    unique_customers: num(r.unique_customers),
    items_sold: num(r.items_sold),
    avg_order_value: str(r.avg_order_value),
    total_lines: num(r.total_lines),
    source: splitOf([r]),
    workflow_id: workflowId,
    workflow_url: workflowId ? links.workflow(workflowId) : null,
  };
}

/** A period from its daily rows; `customers` is the distinct count over the period's lines. */
function periodOf(label: string, range: DateRange, rows: readonly Row[], customers: number): PeriodKpis {
  const orders = rows.reduce((acc, r) => acc + num(r.orders), 0);
  const gross = sumDecimals(rows.map((r) => str(r.gross_revenue)));
  return {
    label,
    ...range,
    days_with_data: rows.length,
    orders,
    gross_revenue: gross,
    net_revenue: sumDecimals(rows.map((r) => str(r.net_revenue))),
    refunds: sumDecimals(rows.map((r) => str(r.refunds))),
    cancelled_orders: rows.reduce((acc, r) => acc + num(r.cancelled_orders), 0),
    unique_customers: customers,
    avg_order_value: divideToPlaces(gross, orders, 2),
    source: splitOf(rows),
  };
}

/** Distinct known customers with a sale line in each range, over order_lines (loaded and streamed). */
async function distinctCustomers(wh: Warehouse, ranges: readonly DateRange[]): Promise<number[]> {
  if (ranges.length === 0) return [];
  const params: Record<string, string> = {};
  const cols = ranges.map((r, i) => {
    params[`f${i}`] = r.from;
    params[`t${i}`] = r.to;
    return `COUNT(DISTINCT CASE WHEN invoice_date BETWEEN CAST(@f${i} AS DATE) AND CAST(@t${i} AS DATE) THEN customer_id END) AS c${i}`;
  });
  params.lo = ranges.map((r) => r.from).sort()[0];
  params.hi = ranges.map((r) => r.to).sort().reverse()[0];
  const [row] = await wh.query(
    `SELECT ${cols.join(', ')} FROM ${ORDER_LINES_VIEW}
     WHERE invoice_date BETWEEN CAST(@lo AS DATE) AND CAST(@hi AS DATE) AND ${SALE}`, params);
  return ranges.map((_, i) => num(row?.[`c${i}`]));
}

export async function kpis(wh: Warehouse, range: DateRange, today: string, links: DashboardLinks): Promise<KpisAnswer> {
  await ensureDashboardSchema(wh);
  const [rows, [anchorRow]] = await Promise.all([
    wh.query(`SELECT ${DAY_COLUMNS} FROM daily_metrics WHERE report_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) ORDER BY daily_metrics.report_date`, { ...range }),
    wh.query<{ anchor: string | null; has_today: number }>(
      `SELECT MAX(report_date) AS anchor, SUM(CASE WHEN report_date = CAST(@today AS DATE) THEN 1 ELSE 0 END) AS has_today FROM daily_metrics`, { today }),
  ]);
  const anchorIsToday = num(anchorRow?.has_today) > 0;
  const anchor = anchorIsToday ? today : anchorRow?.anchor ?? null;
  const windows = anchor
    ? {
      anchor_day: { from: anchor, to: anchor },
      previous_day: { from: addDays(anchor, -1), to: addDays(anchor, -1) },
      last_7: { from: addDays(anchor, -6), to: anchor },
      previous_7: { from: addDays(anchor, -13), to: addDays(anchor, -7) },
    }
    : undefined;
  const [tileRows, customers] = await Promise.all([
    windows
      ? wh.query(`SELECT ${DAY_COLUMNS} FROM daily_metrics WHERE report_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) ORDER BY daily_metrics.report_date`,
        { from: windows.previous_7.from, to: anchor })
      : Promise.resolve([] as Row[]),
    // The range, and the two 7-day windows (the single days have their own count in daily_metrics):
    // two scans, so the windows do not widen the range's.
    Promise.all([
      distinctCustomers(wh, rows.length > 0 ? [range] : []),
      distinctCustomers(wh, windows ? [windows.last_7, windows.previous_7] : []),
    ]).then((counts) => counts.flat()),
  ]);
  const within = (w: DateRange) => tileRows.filter((r) => String(r.report_date) >= w.from && String(r.report_date) <= w.to);
  const single = (label: string, w: DateRange): PeriodKpis => {
    const day = within(w);
    return periodOf(label, w, day, num(day[0]?.unique_customers));
  };
  const anchorLabel = anchorIsToday ? 'Today so far' : 'Newest day';
  return {
    range,
    totals: periodOf('Selected range', range, rows, customers[0] ?? 0),
    days: rows.map((r) => dayOf(r, links)),
    tiles: {
      anchor,
      today,
      anchor_is_today: anchorIsToday,
      anchor_day: windows ? single(anchorLabel, windows.anchor_day) : null,
      previous_day: windows ? single(anchorIsToday ? 'Yesterday' : 'Day before', windows.previous_day) : null,
      last_7: windows ? periodOf('Last 7 days', windows.last_7, within(windows.last_7), customers[1] ?? 0) : null,
      previous_7: windows ? periodOf('The 7 days before', windows.previous_7, within(windows.previous_7), customers[2] ?? 0) : null,
    },
  };
}

// ---- countries and products -------------------------------------------------------------------

export interface CountryRow {
  country: string;
  gross_revenue: string;
  orders: number;
  /** 1 for a named country; the number of countries folded into "Other". */
  countries: number;
  is_other: boolean;
}

export interface CountriesAnswer {
  range: DateRange;
  total_revenue: string;
  countries: CountryRow[];
}

export const OTHER_COUNTRIES = 'Other';

export async function countries(wh: Warehouse, range: DateRange, top = 10): Promise<CountriesAnswer> {
  await ensureDashboardSchema(wh);
  const rows = await wh.query<{ country: string; revenue: string; orders: number; n: number; pos: number }>(`
    WITH c AS (
      SELECT country, SUM(gross_revenue) AS revenue, SUM(orders) AS orders
      FROM daily_country_metrics WHERE report_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)
      GROUP BY country
    ), ranked AS (
      SELECT country, revenue, orders, ROW_NUMBER() OVER (ORDER BY revenue DESC, country) AS rn FROM c
    )
    SELECT CASE WHEN rn <= ${Math.floor(top)} THEN country ELSE '${OTHER_COUNTRIES}' END AS country,
           SUM(revenue) AS revenue, SUM(orders) AS orders, COUNT(*) AS n, MIN(rn) AS pos
    FROM ranked
    GROUP BY CASE WHEN rn <= ${Math.floor(top)} THEN country ELSE '${OTHER_COUNTRIES}' END
    ORDER BY pos`, { ...range });
  const list = rows.map((r) => ({
    country: r.country, gross_revenue: str(r.revenue), orders: num(r.orders), countries: num(r.n), is_other: num(r.pos) > top,
  }));
  return { range, total_revenue: sumDecimals(list.map((c) => c.gross_revenue)), countries: list };
}

export interface ProductRow {
  rank: number;
  stock_code: string;
  description: string | null;
  revenue: string;
  quantity: number;
}

/**
 * Two steps, so the wide string columns are not read for every line: rank the products by revenue
 * over the lines, then name the winners from daily_top_products (which holds nearly every range's
 * winners), and from the lines only for a winner it lacks.
 */
export async function products(wh: Warehouse, range: DateRange, limit = 10): Promise<{ range: DateRange; products: ProductRow[] }> {
  await ensureDashboardSchema(wh);
  const where = `invoice_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) AND ${SALE}`;
  const top = await wh.query<{ stock_code: string; revenue: string; quantity: number }>(`
    SELECT stock_code, SUM(quantity * unit_price) AS revenue, SUM(quantity) AS quantity
    FROM ${ORDER_LINES_VIEW} WHERE ${where}
    GROUP BY stock_code
    ORDER BY revenue DESC, stock_code
    LIMIT ${Math.max(1, Math.floor(limit))}`, { ...range });
  const names = await describe(wh, 'daily_top_products', top.map((p) => p.stock_code), '');
  const missing = top.map((p) => p.stock_code).filter((c) => !names.has(c));
  for (const [code, description] of await describe(wh, ORDER_LINES_VIEW, missing, ` AND ${where}`, range)) names.set(code, description);
  return {
    range,
    products: top.map((r, i) => ({
      rank: i + 1, stock_code: r.stock_code, description: names.get(r.stock_code) ?? null, revenue: str(r.revenue), quantity: num(r.quantity),
    })),
  };
}

/** stock_code -> MIN(description) over `table` for the given codes. */
async function describe(wh: Warehouse, table: string, codes: readonly string[], filter: string, range?: DateRange): Promise<Map<string, string | null>> {
  if (codes.length === 0) return new Map();
  const params: Record<string, string> = { ...range };
  codes.forEach((c, i) => (params[`s${i}`] = c));
  const inList = codes.map((_, i) => `@s${i}`).join(', ');
  const rows = await wh.query<{ stock_code: string; description: string | null }>(
    `SELECT stock_code, MIN(description) AS description FROM ${table} WHERE stock_code IN (${inList})${filter} GROUP BY stock_code`, params);
  return new Map(rows.map((r) => [r.stock_code, r.description]));
}

// ---- predictions ------------------------------------------------------------------------------

export interface PredictionDay {
  date: string;
  model_version: string;
  orders: number;
  lines: number;
  mae: string | null;
  predicted_total: string;
  actual_total: string;
  scored_at: string;
  /** The daily analytics run that scored the day. */
  workflow_id: string | null;
  workflow_url: string | null;
}

export interface PredictionsAnswer {
  range: DateRange;
  /** Mean absolute error per order over the range's scored orders, to the penny; null: none scored. */
  mae: string | null;
  orders: number;
  days: PredictionDay[];
  by_model: Array<{ model_version: string; days: number; orders: number; mae: string | null }>;
}

export async function predictions(wh: Warehouse, range: DateRange, links: DashboardLinks): Promise<PredictionsAnswer> {
  await ensureDashboardSchema(wh);
  const where = 'BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)';
  const [days, byModel] = await Promise.all([
    wh.query(`
      SELECT CAST(p.report_date AS STRING) AS report_date, p.model_version, p.orders, p.lines, p.mae, p.predicted_total, p.actual_total, p.scored_at, m.workflow_id
      FROM daily_predictions AS p LEFT JOIN daily_metrics AS m ON m.report_date = p.report_date
      WHERE p.report_date ${where} ORDER BY p.report_date`, { ...range }),
    wh.query<{ model_version: string; days: number; orders: number; abs_sum: string | null }>(`
      SELECT model_version, COUNT(DISTINCT invoice_date) AS days, COUNT(*) AS orders, SUM(abs_error) AS abs_sum
      FROM order_predictions WHERE invoice_date ${where} GROUP BY model_version ORDER BY MIN(invoice_date), model_version`, { ...range }),
  ]);
  const orders = byModel.reduce((acc, m) => acc + num(m.orders), 0);
  const absSum = sumDecimals(byModel.map((m) => m.abs_sum));
  return {
    range,
    mae: orders > 0 ? divideToPlaces(absSum, orders, 2) : null,
    orders,
    days: days.map((r) => {
      const workflowId = r.workflow_id === null || r.workflow_id === undefined ? null : String(r.workflow_id);
      return {
        date: String(r.report_date),
        model_version: String(r.model_version),
        orders: num(r.orders),
        lines: num(r.lines),
        mae: r.mae === null ? null : str(r.mae),
        predicted_total: str(r.predicted_total),
        actual_total: str(r.actual_total),
        scored_at: String(r.scored_at),
        workflow_id: workflowId,
        workflow_url: workflowId ? links.workflow(workflowId) : null,
      };
    }),
    by_model: byModel.map((m) => ({
      model_version: m.model_version, days: num(m.days), orders: num(m.orders),
      mae: num(m.orders) > 0 ? divideToPlaces(str(m.abs_sum), num(m.orders), 2) : null,
    })),
  };
}

// ---- data quality -----------------------------------------------------------------------------

/** A check's name in the grid: the source is named when it is not the loaded lines. */
export function checkLabel(source: string, check: string): string {
  return source === 'orders_raw' ? check : `${source}:${check}`;
}

/** Severities by rank (SEVERITY_RANK): an unknown severity counts as a failure. */
const SEVERITIES: readonly Severity[] = ['pass', 'warn', 'fail'];

/** checkLabel in SQL (CONCAT: both dialects). */
const LABEL_SQL = "CASE WHEN source = 'orders_raw' THEN check_name ELSE CONCAT(source, ':', check_name) END";

export interface QualityDay {
  date: string;
  worst: Severity;
  fails: number;
  warns: number;
  passes: number;
  workflow_id: string | null;
  workflow_url: string | null;
}

export interface QualityAnswer {
  range: DateRange;
  /** Row labels of the grid, sorted. */
  checks: string[];
  days: QualityDay[];
  /** [day index, check index, severity rank: 0 pass, 1 warn, 2 fail]. */
  cells: Array<[number, number, number]>;
  totals: { pass: number; warn: number; fail: number };
}

export async function qualityGrid(wh: Warehouse, range: DateRange, links: DashboardLinks): Promise<QualityAnswer> {
  await ensureDashboardSchema(wh);
  // One row per cell, so the columns are the cheap ones: the day as text, the run per day apart.
  const where = 'check_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)';
  const [rows, runs] = await Promise.all([
    // Unordered (sorting 300 x 24 strings costs more than the rest): days and checks are sorted here.
    wh.query<{ d: string; label: string; rank: number }>(`
      SELECT CAST(check_date AS STRING) AS d, ${LABEL_SQL} AS label,
             CASE severity WHEN 'pass' THEN 0 WHEN 'warn' THEN 1 ELSE 2 END AS rank
      FROM dq_results WHERE ${where}`, { ...range }),
    wh.query<{ d: string; workflow_id: string | null }>(`
      SELECT CAST(check_date AS STRING) AS d, MAX(workflow_id) AS workflow_id FROM dq_results WHERE ${where} GROUP BY check_date`, { ...range }),
  ]);
  const runOf = new Map(runs.map((r) => [r.d, r.workflow_id]));
  const checks = [...new Set(rows.map((r) => r.label))].sort();
  const checkIndex = new Map(checks.map((c, i) => [c, i]));
  const days: QualityDay[] = [...new Set(rows.map((r) => r.d))].sort().map((date) => {
    const workflowId = runOf.get(date) ?? null;
    return { date, worst: 'pass', fails: 0, warns: 0, passes: 0, workflow_id: workflowId, workflow_url: workflowId ? links.workflow(workflowId) : null };
  });
  const dayIndex = new Map(days.map((d, i) => [d.date, i]));
  const cells: Array<[number, number, number]> = [];
  const totals = { pass: 0, warn: 0, fail: 0 };
  for (const r of rows) {
    const x = dayIndex.get(r.d) as number;
    const day = days[x];
    const severity = SEVERITIES[r.rank] ?? 'fail';
    if (SEVERITY_RANK[severity] > SEVERITY_RANK[day.worst]) day.worst = severity;
    if (severity === 'fail') day.fails++;
    else if (severity === 'warn') day.warns++;
    else day.passes++;
    totals[severity]++;
    cells.push([x, checkIndex.get(r.label) as number, SEVERITY_RANK[severity]]);
  }
  cells.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { range, checks, days, cells, totals };
}

export interface QualityResult {
  check: string;
  label: string;
  category: string;
  source: string;
  severity: Severity;
  observed: number | null;
  warn_threshold: number | null;
  fail_threshold: number | null;
  flagged_lines: number;
  examples: Array<{ invoice_no: string; stock_code: string }>;
  detail: string;
  computed_at: string;
}

export interface QualityDayAnswer {
  date: string;
  worst: Severity | null;
  workflow_id: string | null;
  workflow_url: string | null;
  results: QualityResult[];
}

function parseExamples(text: unknown): Array<{ invoice_no: string; stock_code: string }> {
  try {
    const parsed: unknown = JSON.parse(String(text ?? '[]'));
    if (!Array.isArray(parsed)) return [];
    return parsed.map((e: { invoice_no?: unknown; stock_code?: unknown }) => ({ invoice_no: String(e?.invoice_no ?? ''), stock_code: String(e?.stock_code ?? '') }));
  } catch {
    return [];
  }
}

/** The day's stored results, worst first; `results` is empty when the day was never checked. */
export async function qualityDay(wh: Warehouse, date: string, links: DashboardLinks): Promise<QualityDayAnswer> {
  await ensureDashboardSchema(wh);
  const rows = await wh.query(`SELECT * FROM dq_results WHERE check_date = CAST(@date AS DATE) ORDER BY source, check_name`, { date });
  const results: QualityResult[] = rows.map((r) => ({
    check: String(r.check_name),
    label: checkLabel(String(r.source), String(r.check_name)),
    category: String(r.category),
    source: String(r.source),
    severity: String(r.severity) as Severity,
    observed: numOrNull(r.observed),
    warn_threshold: numOrNull(r.warn_threshold),
    fail_threshold: numOrNull(r.fail_threshold),
    flagged_lines: num(r.flagged_lines),
    examples: parseExamples(r.examples),
    detail: String(r.detail ?? ''),
    computed_at: String(r.computed_at),
  }));
  results.sort((a, b) => (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || a.label.localeCompare(b.label));
  const workflowId = rows.find((r) => r.workflow_id)?.workflow_id;
  const worst = results.reduce<Severity | null>((w, r) => (w === null || SEVERITY_RANK[r.severity] > SEVERITY_RANK[w] ? r.severity : w), null);
  return {
    date,
    worst,
    workflow_id: workflowId ? String(workflowId) : null,
    workflow_url: workflowId ? links.workflow(String(workflowId)) : null,
    results,
  };
}

// ---- models -----------------------------------------------------------------------------------

export interface ModelsAnswer {
  current: string | null;
  versions: Array<{
    version: string;
    created_at: string;
    status: string;
    promoted_at: string | null;
    mae: number;
    mse: number;
    r2: number;
    baseline_line_mae: number;
    baseline_mean_mae: number;
    train_from: string;
    train_to: string;
    test_from: string;
    test_to: string;
    train_rows: number;
    test_rows: number;
    artifact_bytes: number;
    note: string | null;
    training_runs_url: string;
  }>;
  promotions: Array<{ seq: number; at: string; version: string; previous_version: string | null; action: string; reason: string | null }>;
}

export async function models(wh: Warehouse, links: DashboardLinks): Promise<ModelsAnswer> {
  await ensureDashboardSchema(wh);
  const [versions, history] = await Promise.all([listModels(wh), promotionHistory(wh)]);
  return {
    current: versions.find((v) => v.status === 'promoted')?.version ?? null,
    versions: versions.slice().reverse().map((v) => ({
      version: v.version,
      created_at: v.createdAt,
      status: v.status,
      promoted_at: v.promotedAt,
      mae: v.metrics.mae,
      mse: v.metrics.mse,
      r2: v.metrics.r2,
      baseline_line_mae: v.baselines.lineRevenue.mae,
      baseline_mean_mae: v.baselines.trainMean.mae,
      train_from: v.data.trainFrom,
      train_to: v.data.trainTo,
      test_from: v.data.testFrom,
      test_to: v.data.testTo,
      train_rows: v.data.trainRows,
      test_rows: v.data.testRows,
      artifact_bytes: v.artifact.bytes,
      note: v.note,
      training_runs_url: links.trainingRunsAt(v.createdAt),
    })),
    promotions: history.map((p) => ({ seq: p.seq, at: p.at, version: p.version, previous_version: p.previousVersion, action: p.action, reason: p.reason })),
  };
}

// ---- stream -----------------------------------------------------------------------------------

export interface HighValueLine {
  event_id: string;
  invoice_no: string;
  invoice_date: string;
  invoice_ts: string;
  stock_code: string;
  description: string | null;
  quantity: number;
  unit_price: string;
  line_value: string;
  country: string;
  customer_id: number | null;
  predicted_revenue: string | null;
  model_version: string | null;
  stored_at: string;
  /** The daily analytics run of the line's day, when there is one. */
  day_workflow_id: string | null;
  day_workflow_url: string | null;
}

export interface StreamAnswer {
  stored: number;
  duplicates: number;
  dead_lettered: number;
  accounted: number;
  high_value: number;
  /** duplicates / accounted and dead_lettered / accounted, 0..1 (0 with nothing accounted). */
  duplicate_rate: number;
  dead_letter_rate: number;
  first_at: string | null;
  last_at: string | null;
  /** Accounted messages per second between the first and the last. */
  overall_per_second: number;
  /** Per second over the minute before the last accounted message. */
  recent_per_second: { stored: number; duplicates: number; dead_lettered: number };
  high_value_lines: HighValueLine[];
}

export async function stream(wh: Warehouse, limit: number, links: DashboardLinks): Promise<StreamAnswer> {
  await ensureDashboardSchema(wh);
  const [t, feed] = await Promise.all([
    streamTotals(wh),
    wh.query(`
      SELECT s.event_id, s.invoice_no, s.invoice_date, s.invoice_ts, s.stock_code, s.description, s.quantity, s.unit_price,
             s.line_value, s.country, s.customer_id, s.predicted_revenue, s.model_version, s.stored_at, m.workflow_id
      FROM orders_stream AS s LEFT JOIN daily_metrics AS m ON m.report_date = s.invoice_date
      WHERE s.high_value
      ORDER BY s.stored_at DESC, s.event_id
      LIMIT ${Math.max(1, Math.floor(limit))}`),
  ]);
  const rate = (n: number) => (t.accounted > 0 ? n / t.accounted : 0);
  return {
    stored: t.stored,
    duplicates: t.duplicates,
    dead_lettered: t.deadLettered,
    accounted: t.accounted,
    high_value: t.highValue,
    duplicate_rate: rate(t.duplicates),
    dead_letter_rate: rate(t.deadLettered),
    first_at: t.firstAt,
    last_at: t.lastAt,
    overall_per_second: t.overallRate,
    recent_per_second: { stored: t.recentRate.stored, duplicates: t.recentRate.duplicates, dead_lettered: t.recentRate.deadLettered },
    high_value_lines: feed.map((r) => {
      const workflowId = r.workflow_id === null || r.workflow_id === undefined ? null : String(r.workflow_id);
      return {
        event_id: String(r.event_id),
        invoice_no: String(r.invoice_no),
        invoice_date: String(r.invoice_date),
        invoice_ts: String(r.invoice_ts),
        stock_code: String(r.stock_code),
        description: r.description === null ? null : String(r.description),
        quantity: num(r.quantity),
        unit_price: str(r.unit_price),
        line_value: str(r.line_value),
        country: String(r.country),
        customer_id: numOrNull(r.customer_id),
        predicted_revenue: r.predicted_revenue === null ? null : str(r.predicted_revenue),
        model_version: r.model_version === null ? null : String(r.model_version),
        stored_at: String(r.stored_at),
        day_workflow_id: workflowId,
        day_workflow_url: workflowId ? links.workflow(workflowId) : null,
      };
    }),
  };
}
