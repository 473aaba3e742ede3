/**
 * data/daily_metrics_<date>.csv: the seed's per-day output (Total Orders, Total Revenue, Unique
 * Customers) followed by every KPI and the day's orders and lines per origin (batch, stream), one
 * metric per line so it reads well in a terminal.
 */
import * as path from 'node:path';
import type { DailyKpis } from './daily';
import { formatMoney } from './money';
import { writeFileAtomicSync } from '../files';

export function dailyMetricsCsv(k: DailyKpis): string {
  const rows: Array<[string, string | number]> = [
    ['Date', k.date],
    ['Total Orders', k.orders],
    ['Total Revenue', formatMoney(k.gross_revenue)],
    ['Unique Customers', k.unique_customers],
    ['orders', k.orders],
    ['gross_revenue', formatMoney(k.gross_revenue)],
    ['refunds', formatMoney(k.refunds)],
    ['net_revenue', formatMoney(k.net_revenue)],
    ['cancelled_orders', k.cancelled_orders],
    ['unique_customers', k.unique_customers],
    ['items_sold', k.items_sold],
    ['avg_order_value', formatMoney(k.avg_order_value)],
    // Where the day's order lines came from (order_lines: loaded + streamed, replays counted once).
    ['batch_orders', k.batch_orders],
    ['batch_lines', k.batch_lines],
    ['stream_orders', k.stream_orders],
    ['stream_lines', k.stream_lines],
  ];
  return `metric,value\n${rows.map(([m, v]) => `${m},${v}`).join('\n')}\n`;
}

/** Writes atomically (temp file + rename) so a reader never sees half a report. */
export function writeDailyMetricsCsv(dataDir: string, k: DailyKpis): string {
  const file = path.join(dataDir, `daily_metrics_${k.date}.csv`);
  writeFileAtomicSync(file, dailyMetricsCsv(k));
  return file;
}
