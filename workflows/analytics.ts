import {
  ApplicationFailure,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, RetryPolicy, SearchAttributeType } from '@temporalio/common';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import type { DailyKpis } from '../lib/analytics/daily';
import type { PredictionOutcome } from '../lib/analytics/predictions';
import { AnalyticsDate, PipelineStage } from '../lib/temporal/search-attributes';

const RETRY: RetryPolicy = {
  initialInterval: '1 second',
  maximumInterval: '30 seconds',
  backoffCoefficient: 2,
  maximumAttempts: 5,
  // Bad dates and days without data will not change on retry.
  nonRetryableErrorTypes: ['InvalidDateError', 'NoDataForDateError', 'WarehouseSchemaError'],
};

const { computeDailyReport, storeDailyReport, publishDailyMetrics, scoreDayWithPromotedModel } =
  proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: RETRY });

/** Set by Temporal on every run a Schedule starts. */
const ScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export interface DailyAnalyticsInput {
  /** YYYY-MM-DD. Omitted by the Schedule: the run then reports on the previous calendar day. */
  date?: string;
}

export interface DailyAnalyticsResult {
  date: string;
  kpis: DailyKpis;
  topProductCount: number;
  countryCount: number;
  csvPath: string;
  eventMessageId: string;
  predictions: PredictionOutcome;
}

export function dailyAnalyticsWorkflowId(date: string): string {
  return `daily-analytics-${date}`;
}

/** One day's KPIs: compute in the warehouse, store, write the CSV, publish the event, compare predictions. */
export async function dailyAnalyticsWorkflow(input: DailyAnalyticsInput = {}): Promise<DailyAnalyticsResult> {
  const date = input.date ?? previousDayOfScheduledStart();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw ApplicationFailure.nonRetryable(`date must be YYYY-MM-DD, got "${date}"`, 'InvalidDateError');
  const { workflowId } = workflowInfo();
  const stage = (name: string) =>
    upsertSearchAttributes([{ key: AnalyticsDate, value: new Date(`${date}T00:00:00Z`) }, { key: PipelineStage, value: name }]);

  stage('compute');
  const report = await computeDailyReport({ date });
  stage('store');
  const { csvPath } = await storeDailyReport({ report, workflowId });
  stage('publish');
  const { messageId } = await publishDailyMetrics({ report, workflowId });
  stage('predictions');
  const predictions = await scoreDayWithPromotedModel({ date });
  stage('done');
  return {
    date,
    kpis: report.kpis,
    topProductCount: report.topProducts.length,
    countryCount: report.countries.length,
    csvPath,
    eventMessageId: messageId,
    predictions,
  };
}

/** The calendar day before the Schedule's nominal start (not the actual start, which may lag on catch-up). */
function previousDayOfScheduledStart(): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.runStartTime;
  return new Date(scheduled.getTime() - 86_400_000).toISOString().slice(0, 10);
}
