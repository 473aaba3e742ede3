/**
 * The data-quality checks of one day. Every check is a SQL query run in the warehouse (DuckDB or
 * BigQuery, one dialect); Node only turns the numbers into severities. docs/data_quality.md
 * explains each check and its default threshold.
 */
import { assertIsoDate } from '../dates';
import { NoDataForDateError } from '../errors';
import { ensureOrderLines, ORDER_LINES_VIEW } from '../order-lines';
import type { Warehouse } from '../warehouse/types';
import { LINE_RULES, LineRule } from './rules';
import { ORDER_LINES_SOURCE, result } from './result';
import { limitFor, QualityThresholds } from './thresholds';
import type { CheckResult, DqSource, ExampleKey } from './types';
import { quarantineCheck, streamFreshnessCheck, streamHasDay } from './stream';
import { outlierCheck } from './outliers';
import { volumeChecks } from './volume';

/**
 * What a line-level check reads: `order_lines`, the day's order lines loaded and streamed
 * (lib/order-lines.ts), for the checks of the order data the KPIs count; `orders_stream` for the
 * stream's own checks on a streamed day; `orders_raw` for the loaded lines alone.
 */
export type LineTable = typeof ORDER_LINES_VIEW | 'orders_raw' | 'orders_stream';

const sourceOf = (table: LineTable): DqSource => (table === ORDER_LINES_VIEW ? ORDER_LINES_SOURCE : table);
const dayLines = (table: LineTable) => `SELECT * FROM ${table} WHERE invoice_date = CAST(@date AS DATE)`;
/** A stable order for example keys: file order for loads (loaded lines first); orders_stream has no line numbers. */
const EXAMPLE_ORDER: Record<LineTable, string> = {
  order_lines: 'origin, line_no, invoice_no, stock_code, event_id',
  orders_raw: 'line_no, invoice_no, stock_code',
  orders_stream: 'invoice_no, stock_code, event_id',
};

/** Lines of the day in `table`; 0 when the day has none. */
export async function countDayLines(wh: Warehouse, table: LineTable, date: string): Promise<number> {
  if (table === ORDER_LINES_VIEW) await ensureOrderLines(wh);
  const [r] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (${dayLines(table)}) AS d`, { date });
  return r?.n ?? 0;
}

/** All line-level rules in one scan of the day, then example keys for the rules that flagged lines. */
export async function lineRuleChecks(wh: Warehouse, table: LineTable, date: string, t: QualityThresholds): Promise<CheckResult[]> {
  if (table === ORDER_LINES_VIEW) await ensureOrderLines(wh);
  const source = sourceOf(table);
  const cols = LINE_RULES.map((r, i) => `${flaggedExpr(r)} AS f${i}, ${countedExpr(r)} AS c${i}`).join(',\n       ');
  const [row] = await wh.query(`SELECT COUNT(*) AS lines, ${cols} FROM (${dayLines(table)}) AS d`, { date });
  const lines = Number(row?.lines ?? 0);
  const out: CheckResult[] = [];
  for (const [i, rule] of LINE_RULES.entries()) {
    const flagged = Number(row?.[`f${i}`] ?? 0);
    const counted = Number(row?.[`c${i}`] ?? 0);
    const observed = rule.kind === 'rate' ? (lines === 0 ? 0 : counted / lines) : counted;
    const examples = flagged > 0 ? await exampleKeys(wh, table, date, rule.flags, t.examples) : [];
    out.push(result(rule.check, source, observed, limitFor(t, rule.check), {
      flaggedLines: flagged, examples, detail: `${rule.describe}: ${flagged} of ${lines} lines`,
    }));
  }
  return out;
}

const flaggedExpr = (r: LineRule) => `COALESCE(SUM(CASE WHEN ${r.flags} THEN 1 ELSE 0 END), 0)`;
function countedExpr(r: LineRule): string {
  if (r.kind === 'distinct-invoices') return `COUNT(DISTINCT CASE WHEN ${r.flags} THEN invoice_no END)`;
  return `COALESCE(SUM(CASE WHEN ${r.counts ?? r.flags} THEN 1 ELSE 0 END), 0)`;
}

async function exampleKeys(wh: Warehouse, table: LineTable, date: string, predicate: string, limit: number): Promise<ExampleKey[]> {
  return wh.query<{ invoice_no: string; stock_code: string }>(
    `SELECT invoice_no, stock_code FROM (${dayLines(table)}) AS d WHERE ${predicate}
     ORDER BY ${EXAMPLE_ORDER[table]} LIMIT ${Math.max(0, Math.floor(limit))}`, { date });
}

/**
 * Exact copies: lines equal in every data column (provenance aside); counts the extra copies. On
 * order_lines a replayed line is not a copy (the view counts it once); a streamed line equal to a
 * loaded one but without its identity is.
 */
export async function duplicateCheck(wh: Warehouse, table: LineTable, date: string, t: QualityThresholds): Promise<CheckResult> {
  if (table === ORDER_LINES_VIEW) await ensureOrderLines(wh);
  const source = sourceOf(table);
  const groups = `SELECT invoice_no, stock_code, COUNT(*) AS n FROM (${dayLines(table)}) AS d
    GROUP BY invoice_no, stock_code, description, quantity, invoice_ts, unit_price, customer_id, country`;
  const [r] = await wh.query<{ extra: number; lines: number }>(
    `SELECT COALESCE(SUM(n - 1), 0) AS extra, COALESCE(SUM(n), 0) AS lines FROM (${groups}) AS g`, { date });
  const extra = Number(r?.extra ?? 0);
  const lines = Number(r?.lines ?? 0);
  const examples = extra === 0 ? [] : await wh.query<{ invoice_no: string; stock_code: string }>(
    `SELECT invoice_no, stock_code FROM (${groups}) AS g WHERE n > 1 ORDER BY invoice_no, stock_code LIMIT ${t.examples}`, { date });
  return result('uniqueness.duplicate_lines', source, lines === 0 ? 0 : extra / lines, limitFor(t, 'uniqueness.duplicate_lines'), {
    flaggedLines: extra, examples, detail: `${extra} extra exact copies among ${lines} lines (share of lines)`,
  });
}

/**
 * Every check for one day: the order lines (order_lines: loaded and streamed, as the KPIs count
 * them) and the day's loads always; the stream's own line checks when orders_stream holds lines
 * of that day; stream freshness.
 */
export async function runDayChecks(wh: Warehouse, date: string, t: QualityThresholds, now = new Date()): Promise<CheckResult[]> {
  assertIsoDate(date);
  await ensureOrderLines(wh);
  const streamed = await streamHasDay(wh, date);
  if ((await countDayLines(wh, ORDER_LINES_VIEW, date)) === 0 && !streamed) {
    throw new NoDataForDateError(`no order lines on ${date} in ${ORDER_LINES_VIEW} (orders_raw and orders_stream)`);
  }
  const results = [
    await quarantineCheck(wh, date, t),
    ...(await lineRuleChecks(wh, ORDER_LINES_VIEW, date, t)),
    await duplicateCheck(wh, ORDER_LINES_VIEW, date, t),
    await outlierCheck(wh, date, t),
    ...(await volumeChecks(wh, date, t)),
  ];
  if (streamed) {
    results.push(...(await lineRuleChecks(wh, 'orders_stream', date, t)), await duplicateCheck(wh, 'orders_stream', date, t));
  }
  results.push(await streamFreshnessCheck(wh, t, now));
  return results;
}
