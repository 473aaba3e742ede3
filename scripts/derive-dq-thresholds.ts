/**
 * Derive the default data-quality thresholds from the data's own history: run every check on
 * every day of the loaded orders_raw and print, per check, the distribution of the observed value
 * (median, p90, p99, max) and the worst days. docs/data_quality.md records the output and the
 * thresholds chosen from it. Usage: node dist/scripts/derive-dq-thresholds.js [--duckdb PATH]
 */
import { datesWithData, loadedDateRange } from '../lib/analytics/daily';
import { runDayChecks } from '../lib/quality/checks';
import { loadThresholds } from '../lib/quality/thresholds';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { loadConfig } from '../lib/config';

function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] ?? NaN;
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--duckdb');
  const wh = new DuckDBWarehouse({ path: arg > 0 ? process.argv[arg + 1] : loadConfig().warehouse.duckdbPath });
  const t = loadThresholds();
  const { first, last } = await loadedDateRange(wh);
  if (!first || !last) throw new Error('orders_raw is empty: run "retailflow ingest" first');
  const observed = new Map<string, Array<{ date: string; v: number }>>();
  const started = Date.now();
  for (const date of await datesWithData(wh, first, last)) {
    for (const r of await runDayChecks(wh, date, t)) {
      if (r.observed === null) continue;
      const key = `${r.source}:${r.check}`;
      observed.set(key, [...(observed.get(key) ?? []), { date, v: r.observed }]);
    }
  }
  console.log(`checked ${first}..${last} in ${Date.now() - started} ms`);
  for (const [check, list] of observed) {
    const sorted = list.map((x) => x.v).sort((a, b) => a - b);
    const worst = [...list].sort((a, b) => b.v - a.v).slice(0, 3).map((x) => `${x.date}=${+x.v.toFixed(4)}`).join(' ');
    const f = (p: number) => +quantile(sorted, p).toFixed(4);
    console.log(`${check.padEnd(45)} days ${sorted.length} median ${f(0.5)} p90 ${f(0.9)} p99 ${f(0.99)} max ${f(1)}  worst ${worst}`);
  }
  await wh.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
