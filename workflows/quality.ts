import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, RetryPolicy, SearchAttributeType } from '@temporalio/common';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import type { Severity } from '../lib/quality/thresholds';
import type { CheckResult } from '../lib/quality/types';
import { AnalyticsDate, PipelineStage } from '../lib/temporal/search-attributes';

const RETRY: RetryPolicy = {
  initialInterval: '1 second',
  maximumInterval: '30 seconds',
  backoffCoefficient: 2,
  maximumAttempts: 5,
  // A bad date, a day without data, a broken thresholds file or bad SQL will not change on retry.
  nonRetryableErrorTypes: ['InvalidDateError', 'NoDataForDateError', 'InvalidThresholdsError', 'WarehouseSchemaError'],
};

const { runDataQualityChecks, storeDataQualityResults, publishDataQualityAlerts } =
  proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', retry: RETRY });

const ScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export interface DataQualityInput {
  /** YYYY-MM-DD. Omitted by the Schedule: the run then checks the previous calendar day. */
  date?: string;
}

export interface DataQualityResult {
  date: string;
  /** failed when any check failed; the workflow still completes (a fail is a finding, not a crash). */
  status: 'passed' | 'warned' | 'failed';
  counts: Record<Severity, number>;
  /** "check: detail" of every failed check. */
  reasons: string[];
  warnings: string[];
  results: CheckResult[];
  alertMessageIds: string[];
}

export function dataQualityWorkflowId(date: string): string {
  return `data-quality-${date}`;
}

/** Run the day's data-quality checks in the warehouse, store them in dq_results, alert on warn/fail. */
export async function dataQualityWorkflow(input: DataQualityInput = {}): Promise<DataQualityResult> {
  const date = input.date ?? previousDayOfScheduledStart();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw ApplicationFailure.nonRetryable(`date must be YYYY-MM-DD, got "${date}"`, 'InvalidDateError');
  const { workflowId } = workflowInfo();
  const stage = (name: string) =>
    upsertSearchAttributes([{ key: AnalyticsDate, value: new Date(`${date}T00:00:00Z`) }, { key: PipelineStage, value: name }]);

  stage('dq-check');
  const report = await runDataQualityChecks({ date });
  stage('dq-store');
  await storeDataQualityResults({ report, workflowId });
  stage('dq-alert');
  const { messageIds } = await publishDataQualityAlerts({ report, workflowId });
  stage('done');
  return summarise(date, report.results, messageIds);
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

/** The calendar day before the Schedule's nominal start (not the actual start, which may lag on catch-up). */
function previousDayOfScheduledStart(): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.runStartTime;
  return new Date(scheduled.getTime() - 86_400_000).toISOString().slice(0, 10);
}
