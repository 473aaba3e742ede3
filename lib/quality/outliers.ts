/**
 * Outliers: sale lines whose quantity or line revenue is far above the product's own history.
 *
 * Rule (median/MAD, robust to the outliers themselves): for each product, over its sale lines in
 * the `historyDays` before the day, score = (x - median) / (1.4826 * max(MAD, 1)); a line is an
 * outlier when its quantity score or revenue score exceeds `k`. The floor of 1 on the MAD keeps
 * products that always sell the same quantity (MAD 0) from flagging every change. Products with
 * fewer than `minHistoryLines` history lines (new products) are scored against all products'
 * lines instead, with the stricter `fallbackK`.
 */
import type { Warehouse } from '../warehouse/types';
import { ORDER_LINES_VIEW } from '../order-lines';
import { ORDER_LINES_SOURCE, result } from './result';
import { medianBy } from './median';
import { SALE_LINE } from './rules';
import { limitFor, OutlierSettings, QualityThresholds } from './thresholds';
import type { CheckResult } from './types';

const CHECK = 'outliers.quantity_or_revenue';

export type OutlierLine = { invoice_no: string; stock_code: string; excess: number };

/** CTEs `<x>_stats` (key, n, mq, aq, mr, ar): medians and MADs of quantity and revenue per key. */
function statsCtes(from: string, key: string, x: string): string {
  return `
  ${x}_mq AS (${medianBy(from, key, 'q')}),
  ${x}_mr AS (${medianBy(from, key, 'r')}),
  ${x}_dev AS (SELECT h.${key}, ABS(h.q - a.med) AS dq, ABS(h.r - b.med) AS dr
          FROM ${from} AS h JOIN ${x}_mq AS a ON a.${key} = h.${key} JOIN ${x}_mr AS b ON b.${key} = h.${key}),
  ${x}_aq AS (${medianBy(`${x}_dev`, key, 'dq')}),
  ${x}_ar AS (${medianBy(`${x}_dev`, key, 'dr')}),
  ${x}_stats AS (SELECT a.${key}, a.n, a.med AS mq, c.med AS aq, b.med AS mr, e.med AS ar
        FROM ${x}_mq AS a JOIN ${x}_mr AS b ON b.${key} = a.${key}
        JOIN ${x}_aq AS c ON c.${key} = a.${key} JOIN ${x}_ar AS e ON e.${key} = a.${key})`;
}

function outlierSql(): string {
  const score = (s: string) => `GREATEST((d.q - ${s}.mq) / (1.4826 * GREATEST(${s}.aq, 1.0)), (d.r - ${s}.mr) / (1.4826 * GREATEST(${s}.ar, 1.0)))`;
  return `
  WITH h AS (
    SELECT stock_code, 'all' AS scope, CAST(quantity AS FLOAT64) AS q, CAST(quantity * unit_price AS FLOAT64) AS r
    FROM ${ORDER_LINES_VIEW}
    WHERE invoice_date >= CAST(@hist_from AS DATE) AND invoice_date < CAST(@date AS DATE) AND ${SALE_LINE}),
  d AS (SELECT invoice_no, stock_code, line_no, CAST(quantity AS FLOAT64) AS q, CAST(quantity * unit_price AS FLOAT64) AS r
         FROM ${ORDER_LINES_VIEW} WHERE invoice_date = CAST(@date AS DATE) AND ${SALE_LINE}),
  hp AS (SELECT * FROM h WHERE stock_code IN (SELECT stock_code FROM d)),
  ${statsCtes('hp', 'stock_code', 'p')},
  ${statsCtes('h', 'scope', 'g')},
  scored AS (
    SELECT d.invoice_no, d.stock_code, d.line_no,
           CASE WHEN COALESCE(p.n, 0) >= @min_history THEN ${score('p')} / @k
                ELSE ${score('g')} / @fallback_k END AS excess
    FROM d
    LEFT JOIN p_stats AS p ON p.stock_code = d.stock_code
    LEFT JOIN g_stats AS g ON g.scope = 'all')
  SELECT invoice_no, stock_code, excess FROM scored WHERE excess > 1 ORDER BY excess DESC, line_no`;
}

function daysBefore(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

/** Sale lines of the day scoring above k (or fallbackK), worst first; `excess` = score / k. */
export async function outlierLines(wh: Warehouse, date: string, o: OutlierSettings): Promise<OutlierLine[]> {
  return wh.query<OutlierLine>(outlierSql(), {
    date, hist_from: daysBefore(date, o.historyDays), k: o.k, fallback_k: o.fallbackK, min_history: o.minHistoryLines,
  });
}

export async function outlierCheck(wh: Warehouse, date: string, t: QualityThresholds): Promise<CheckResult> {
  const o = t.outliers;
  const rows = await outlierLines(wh, date, o);
  const examples = rows.slice(0, t.examples).map(({ invoice_no, stock_code }) => ({ invoice_no, stock_code }));
  return result(CHECK, ORDER_LINES_SOURCE, rows.length, limitFor(t, CHECK), {
    flaggedLines: rows.length, examples,
    detail: `${rows.length} sale lines with quantity or revenue more than ${o.k} robust deviations (MAD) above the product's last ${o.historyDays} days`,
  });
}

export { daysBefore };
