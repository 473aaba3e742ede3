/** `retailflow analytics ...`: run a day, backfill a range, manage the daily schedule. */
import type { Command } from 'commander';
import type { DailyKpis } from '../../lib/analytics/daily';
import type { PredictionOutcome } from '../../lib/analytics/predictions';
import { formatMoney } from '../../lib/analytics/money';
import { perDayCommand } from './per-day';

/** One line: how the promoted model did on the day, or why there is no comparison. */
export function describePredictions(p: PredictionOutcome): string {
  switch (p.status) {
    case 'scored':
      return `predictions: model ${p.modelVersion}, ${p.orders} orders (${p.lines} lines), MAE ${formatMoney(p.mae)}, predicted ${formatMoney(p.predictedTotal)} vs actual ${formatMoney(p.actualTotal)}`;
    case 'no-sales':
      return `predictions: model ${p.modelVersion}, ${p.reason}`;
    case 'no-model':
      return `predictions: none (${p.reason})`;
  }
}

function printKpis(k: DailyKpis): void {
  const rows: Array<[string, string | number]> = [
    ['orders', k.orders], ['gross_revenue', formatMoney(k.gross_revenue)], ['refunds', formatMoney(k.refunds)],
    ['net_revenue', formatMoney(k.net_revenue)], ['cancelled_orders', k.cancelled_orders],
    ['unique_customers', k.unique_customers], ['items_sold', k.items_sold], ['avg_order_value', formatMoney(k.avg_order_value)],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(18)} ${String(value).padStart(12)}`);
  console.log(`  ${describeSources(k)}`);
}

const count = (n: number): string => n.toLocaleString('en-US');

/** One line: orders and lines of the day from each origin (batch = loaded files, stream = orders_stream). */
export function describeSources(k: Pick<DailyKpis, 'batch_orders' | 'batch_lines' | 'stream_orders' | 'stream_lines'>): string {
  return `sources  batch ${count(k.batch_orders)} orders / ${count(k.batch_lines)} lines, stream ${count(k.stream_orders)} / ${count(k.stream_lines)}`;
}

export function analyticsCommand(): Command {
  return perDayCommand({
    name: 'analytics',
    workflow: 'dailyAnalyticsWorkflow',
    description: 'Daily KPIs as Temporal workflows (needs the platform running: npm start).',
    run: {
      description: 'Compute, store and publish the KPIs of one day (workflow daily-analytics-<date>).',
      dateHelp: 'the day to analyse',
      print: (result) => {
        console.log(`KPIs for ${result.date}:`);
        printKpis(result.kpis);
        console.log(`wrote ${result.csvPath}; event ${result.eventMessageId}`);
        console.log(describePredictions(result.predictions));
      },
    },
    backfill: {
      description: 'Run the daily workflow for every day with data in a range, with bounded concurrency.',
      label: 'backfill',
      defaultConcurrency: 16,
      summary: (r, from, to) => `backfill ${from}..${to}: ${r.done}/${r.total} days done, ${r.failed} failed`,
    },
  });
}
