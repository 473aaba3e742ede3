// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import type { Severity } from '../lib/quality/thresholds';
import type { CheckResult } from '../lib/quality/types';
import { ErrorType, type DataQualityInput, type DataQualityResult, type NoDataOutcome } from '../lib/temporal/contract';
import { beginPerDayRun, perDayActivities } from './per-day';

// A broken thresholds file will not change on retry either.
const { runDataQualityChecks, storeDataQualityResults, publishDataQualityAlerts } =
  perDayActivities<Activities>({ startToCloseTimeout: '5 minutes', alsoNonRetryable: [ErrorType.InvalidThresholds] });

/** Run the day's data-quality checks in the warehouse, store them in dq_results, alert on warn/fail. */
export async function dataQualityWorkflow(input: DataQualityInput = {}): Promise<DataQualityResult | NoDataOutcome> {
  const { date, workflowId, stage, describe, unlessNoData } = beginPerDayRun(input);

  stage('dq-check');
  const report = await unlessNoData(() => runDataQualityChecks({ date }));
  if ('outcome' in report) return report;
  stage('dq-store');
  await storeDataQualityResults({ report, workflowId });
  stage('dq-alert');
  const { messageIds } = await publishDataQualityAlerts({ report, workflowId });
  stage('done');
  const result = summarise(date, report.results, messageIds);
  describe(`${date} · ${result.status} · ${result.counts.pass} passed, ${result.counts.warn} warned, ${result.counts.fail} failed checks`);
  return result;
}

function summarise(date: string, results: CheckResult[], alertMessageIds: string[]): DataQualityResult {
  const counts: Record<Severity, number> = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.severity]++;
  const line = (r: CheckResult) => `${r.source === 'orders_raw' ? '' : `${r.source}:`}${r.check}: ${r.detail}`;
  return {
    date,
    status: counts.fail > 0 ? 'failed' : counts.warn > 0 ? 'warned' : 'passed',
    counts,
    reasons: results.filter((r) => r.severity === 'fail').map(line),
    warnings: results.filter((r) => r.severity === 'warn').map(line),
    results,
    alertMessageIds,
  };
}
