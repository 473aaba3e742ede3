/**
 * The table `npm run bench` prints and writes into docs/benchmarks.md: each goal of the speed
 * issue, what this run measured, and whether it met it. Pure, so test/bench-report.test.ts can
 * check it without running a bench.
 */
import type { BenchMetrics } from './result';

export type Results = Partial<Record<'ingest' | 'backfill' | 'api' | 'stream' | 'anchor', BenchMetrics>>;

interface Goal {
  what: string;
  goal: string;
  /** The measured value as shown, and whether it meets the goal; undefined when not measured. */
  measure(r: Results): { shown: string; met: boolean } | undefined;
}

const num = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const GOALS: Goal[] = [
  {
    what: 'full-year backfill, 305 days (bench: in-memory Temporal, one worker)',
    goal: '≤ 10 s',
    measure: ({ backfill: b }) => b && { shown: `${num(b.backfill_s, 1)} s (${b.days_done} days, ${b.days_failed} failed)`, met: b.backfill_s <= 10 && b.days_failed === 0 },
  },
  {
    what: 'single-day workflow latency',
    goal: 'p50 ≤ 100 ms',
    measure: ({ backfill: b }) => b && { shown: `p50 ${num(b.day_p50_ms)} ms, p90 ${num(b.day_p90_ms)} ms`, met: b.day_p50_ms <= 100 },
  },
  {
    what: '`/predict`, 50 connections',
    goal: '≥ 40,000 req/s, p99 ≤ 5 ms',
    measure: ({ api: a }) => a && { shown: `${num(a.predict_rps)} req/s, p99 ${num(a.predict_p99_ms)} ms, ${a.predict_errors} errors`, met: a.predict_rps >= 40_000 && a.predict_p99_ms <= 5 && a.predict_errors === 0 },
  },
  {
    what: '`/predict/batch`',
    goal: '≥ 1,000,000 rows/s',
    measure: ({ api: a }) => a && { shown: `${num(a.batch_rows_per_s)} rows/s`, met: a.batch_rows_per_s >= 1_000_000 },
  },
  {
    what: 'stream, publish → stored (bench: no backfill at the same time)',
    goal: '≥ 5,000 lines/s, p99 ≤ 2 s',
    measure: ({ stream: s }) => s && { shown: `${num(s.lines_per_s)} lines/s, p99 ${num(s.latency_p99_ms)} ms, ${s.exact ? 'exact' : 'NOT exact'}`, met: s.lines_per_s >= 5_000 && s.latency_p99_ms <= 2_000 && s.exact === 1 },
  },
  {
    what: 'ingest of the full file vs a bare DuckDB `read_csv` of it, same run',
    goal: '≤ 1.5×',
    measure: ({ ingest: i, anchor: a }) => i && a && { shown: `${num(i.median_s, 2)} s vs ${num(a.duckdb_read_csv_s, 2)} s = ${num(i.median_s / a.duckdb_read_csv_s, 1)}×`, met: i.median_s / a.duckdb_read_csv_s <= 1.5 },
  },
];

export interface RunInfo {
  date: string;
  machine: string;
  command: string;
}

export function benchTable(results: Results, info: RunInfo): string {
  const rows = GOALS.map((g) => {
    const m = g.measure(results);
    return `| ${g.what} | ${g.goal} | ${m ? m.shown : 'not measured'} | ${m ? (m.met ? 'yes' : '**no**') : '–'} |`;
  });
  return [
    `Last \`${info.command}\`: ${info.date}, ${info.machine}.`,
    '',
    '| what | goal | measured | met |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';

/** `doc` with the text between the markers replaced; the markers must be there, once each, in order. */
export function replaceBenchSection(doc: string, table: string): string {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin || doc.indexOf(BEGIN, begin + 1) >= 0) throw new Error(`docs/benchmarks.md needs one ${BEGIN} ... ${END} section`);
  return `${doc.slice(0, begin + BEGIN.length)}\n${table}\n${doc.slice(end)}`;
}
