/** The dq_results table: one row per day, source and check; re-running a day replaces its rows. */
import type { TableDef, Warehouse } from '../warehouse/types';
import { SEVERITY_RANK, Severity } from './thresholds';
import type { CheckResult, DqDayReport } from './types';

export const DQ_RESULTS: TableDef = {
  name: 'dq_results',
  columns: [
    { name: 'check_date', type: 'DATE' },
    { name: 'check_name', type: 'STRING' },
    { name: 'category', type: 'STRING' },
    { name: 'source', type: 'STRING' },
    { name: 'severity', type: 'STRING' },
    { name: 'observed', type: 'FLOAT64', nullable: true },
    { name: 'warn_threshold', type: 'FLOAT64', nullable: true },
    { name: 'fail_threshold', type: 'FLOAT64', nullable: true },
    { name: 'flagged_lines', type: 'INT64' },
    // JSON array of {invoice_no, stock_code}: a few keys to drill down from.
    { name: 'examples', type: 'STRING' },
    { name: 'detail', type: 'STRING' },
    { name: 'workflow_id', type: 'STRING', nullable: true },
    { name: 'computed_at', type: 'TIMESTAMP' },
  ],
  key: ['check_date', 'source', 'check_name'],
  partitionBy: 'check_date',
};

function toRow(date: string, r: CheckResult, workflowId: string | null, computedAt: string) {
  return {
    check_date: date, check_name: r.check, category: r.category, source: r.source, severity: r.severity,
    observed: r.observed, warn_threshold: r.warn, fail_threshold: r.fail, flagged_lines: r.flaggedLines,
    examples: JSON.stringify(r.examples), detail: r.detail, workflow_id: workflowId, computed_at: computedAt,
  };
}

/** Replace the day's results: a re-run (other checks, other thresholds) never leaves stale rows. */
export async function storeDqResults(wh: Warehouse, report: DqDayReport, workflowId: string | null): Promise<number> {
  await wh.ensureSchema([DQ_RESULTS]);
  await wh.execute('DELETE FROM dq_results WHERE check_date = CAST(@date AS DATE)', { date: report.date });
  const now = new Date().toISOString();
  return wh.insertRows(DQ_RESULTS, report.results.map((r) => toRow(report.date, r, workflowId, now)));
}

export interface DqDaySummary {
  date: string;
  worst: Severity;
  fails: number;
  warns: number;
  /** check -> severity, for the table of checks by day. */
  checks: Record<string, Severity>;
}

/** Stored results per day in [from, to], worst days first (most fails, then most warns, then date). */
export async function dqReport(wh: Warehouse, from: string, to: string): Promise<DqDaySummary[]> {
  await wh.ensureSchema([DQ_RESULTS]);
  const rows = await wh.query<{ d: string; check_name: string; source: string; severity: Severity }>(
    `SELECT check_date AS d, check_name, source, severity FROM dq_results
     WHERE check_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE) ORDER BY check_date, source, check_name`, { from, to });
  const days = new Map<string, DqDaySummary>();
  for (const r of rows) {
    const day = days.get(r.d) ?? { date: r.d, worst: 'pass', fails: 0, warns: 0, checks: {} };
    const name = r.source === 'orders_raw' ? r.check_name : `${r.source}:${r.check_name}`;
    day.checks[name] = r.severity;
    if (r.severity === 'fail') day.fails++;
    if (r.severity === 'warn') day.warns++;
    if (SEVERITY_RANK[r.severity] > SEVERITY_RANK[day.worst]) day.worst = r.severity;
    days.set(r.d, day);
  }
  return [...days.values()].sort((a, b) => b.fails - a.fails || b.warns - a.warns || a.date.localeCompare(b.date));
}
