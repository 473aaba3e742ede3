/**
 * Volume and KPI anomalies: the day's line count, orders and gross revenue against the median of
 * the days with data among the `trailingDays` calendar days before it. The observed value is the
 * factor between the two, in whichever direction is larger (2 = twice or half the usual), so one
 * threshold covers both a spike and a drop.
 */
import type { Warehouse } from '../warehouse/types';
import { ORDER_LINES_VIEW } from '../order-lines';
import { ORDER_LINES_SOURCE, result } from './result';
import { medianBy } from './median';
import { SALE_LINE } from './rules';
import { limitFor, QualityThresholds } from './thresholds';
import type { CheckResult } from './types';
import { daysBefore } from './outliers';

const METRICS = ['lines', 'orders', 'revenue'] as const;

function volumeSql(): string {
  const unpivot = METRICS.map((m) => `SELECT d, '${m}' AS metric, CAST(${m} AS FLOAT64) AS v FROM daily`).join(' UNION ALL ');
  return `
  WITH daily AS (
    SELECT invoice_date AS d, COUNT(*) AS lines,
           COUNT(DISTINCT CASE WHEN ${SALE_LINE} THEN invoice_no END) AS orders,
           COALESCE(SUM(CASE WHEN ${SALE_LINE} THEN quantity * unit_price END), 0) AS revenue
    FROM ${ORDER_LINES_VIEW} WHERE invoice_date >= CAST(@from AS DATE) AND invoice_date <= CAST(@date AS DATE)
    GROUP BY invoice_date),
  by_metric AS (${unpivot}),
  hist AS (SELECT metric, v FROM by_metric WHERE d < CAST(@date AS DATE)),
  med AS (${medianBy('hist', 'metric', 'v')})
  SELECT t.metric, t.v AS today, m.med, COALESCE(m.n, 0) AS days
  FROM (SELECT metric, v FROM by_metric WHERE d = CAST(@date AS DATE)) AS t LEFT JOIN med AS m ON m.metric = t.metric`;
}

export async function volumeChecks(wh: Warehouse, date: string, t: QualityThresholds): Promise<CheckResult[]> {
  const { trailingDays, minHistoryDays } = t.volume;
  const rows = await wh.query<{ metric: string; today: number; med: number | null; days: number }>(
    volumeSql(), { date, from: daysBefore(date, trailingDays) });
  return METRICS.map((metric) => {
    const check = `volume.${metric}`;
    const r = rows.find((x) => x.metric === metric);
    if (!r || r.med === null || r.days < minHistoryDays) {
      return result(check, ORDER_LINES_SOURCE, null, null, {
        detail: `not judged: ${r?.days ?? 0} days with data in the ${trailingDays} days before (need ${minHistoryDays})`,
      });
    }
    const factor = r.today <= 0 || r.med <= 0 ? Number.MAX_SAFE_INTEGER : Math.max(r.today / r.med, r.med / r.today);
    return result(check, ORDER_LINES_SOURCE, round(factor), limitFor(t, check), {
      detail: `${metric} ${round(r.today)} vs trailing median ${round(r.med)} over ${r.days} days (factor ${round(factor)})`,
    });
  });
}

const round = (x: number) => Math.round(x * 1000) / 1000;
