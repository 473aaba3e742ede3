/**
 * The data-quality checks of one day. Every check is a SQL query run in the warehouse (DuckDB or
 * BigQuery, one dialect); Node only turns the numbers into severities. docs/data_quality.md
 * explains each check and its default threshold.
 */
import { assertIsoDate } from '../dates';
import { NoDataForDateError } from '../errors';
import type { Warehouse } from '../warehouse/types';
import { LINE_RULES, LineRule } from './rules';
import { result } from './result';
import { limitFor, QualityThresholds } from './thresholds';
import type { CheckResult, DqSource, ExampleKey } from './types';
import { quarantineCheck, streamFreshnessCheck, streamHasDay } from './stream';
import { outlierCheck } from './outliers';
import { volumeChecks } from './volume';

const dayLines = (source: DqSource) => `SELECT * FROM ${source} WHERE invoice_date = CAST(@date AS DATE)`;
/** A stable order for example keys: file order for loads; orders_stream has no line numbers. */
const EXAMPLE_ORDER: Record<DqSource, string> = { orders_raw: 'line_no, invoice_no, stock_code', orders_stream: 'invoice_no, stock_code, event_id' };

/** Lines of the day in `source`; 0 when the day has none. */
export async function countDayLines(wh: Warehouse, source: DqSource, date: string): Promise<number> {
  const [r] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (${dayLines(source)}) AS d`, { date });
  return r?.n ?? 0;
}

/** All line-level rules in one scan of the day, then example keys for the rules that flagged lines. */
export async function lineRuleChecks(wh: Warehouse, source: DqSource, date: string, t: QualityThresholds): Promise<CheckResult[]> {
  const cols = LINE_RULES.map((r, i) => `${flaggedExpr(r)} AS f${i}, ${countedExpr(r)} AS c${i}`).join(',\n       ');
  const [row] = await wh.query(`SELECT COUNT(*) AS lines, ${cols} FROM (${dayLines(source)}) AS d`, { date });
  const lines = Number(row?.lines ?? 0);
  const out: CheckResult[] = [];
  for (const [i, rule] of LINE_RULES.entries()) {
    const flagged = Number(row?.[`f${i}`] ?? 0);
    const counted = Number(row?.[`c${i}`] ?? 0);
    const observed = rule.kind === 'rate' ? (lines === 0 ? 0 : counted / lines) : counted;
    const examples = flagged > 0 ? await exampleKeys(wh, source, date, rule.flags, t.examples) : [];
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

async function exampleKeys(wh: Warehouse, source: DqSource, date: string, predicate: string, limit: number): Promise<ExampleKey[]> {
  return wh.query<{ invoice_no: string; stock_code: string }>(
    `SELECT invoice_no, stock_code FROM (${dayLines(source)}) AS d WHERE ${predicate}
     ORDER BY ${EXAMPLE_ORDER[source]} LIMIT ${Math.max(0, Math.floor(limit))}`, { date });
}

/** Exact copies: lines equal in every data column (provenance aside); counts the extra copies. */
export async function duplicateCheck(wh: Warehouse, source: DqSource, date: string, t: QualityThresholds): Promise<CheckResult> {
  const groups = `SELECT invoice_no, stock_code, COUNT(*) AS n FROM (${dayLines(source)}) AS d
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

/** Every check for one day: orders_raw always, orders_stream when it holds lines of that day. */
export async function runDayChecks(wh: Warehouse, date: string, t: QualityThresholds, now = new Date()): Promise<CheckResult[]> {
  assertIsoDate(date);
  const streamed = await streamHasDay(wh, date);
  if (!streamed && (await countDayLines(wh, 'orders_raw', date)) === 0) {
    throw new NoDataForDateError(`no order lines on ${date} in orders_raw or orders_stream`);
  }
  const results = [
    await quarantineCheck(wh, date, t),
    ...(await lineRuleChecks(wh, 'orders_raw', date, t)),
    await duplicateCheck(wh, 'orders_raw', date, t),
    await outlierCheck(wh, date, t),
    ...(await volumeChecks(wh, date, t)),
  ];
  if (streamed) {
    results.push(...(await lineRuleChecks(wh, 'orders_stream', date, t)), await duplicateCheck(wh, 'orders_stream', date, t));
  }
  results.push(await streamFreshnessCheck(wh, t, now));
  return results;
}
