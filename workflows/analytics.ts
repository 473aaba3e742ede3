// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import type { DailyAnalyticsInput, DailyAnalyticsResult } from '../lib/temporal/contract';
import { beginPerDayRun, perDayActivities } from './per-day';

const { computeDailyReport, storeDailyReport, publishDailyMetrics, scoreDayWithPromotedModel } =
  perDayActivities<Activities>({ startToCloseTimeout: '2 minutes' });

/** One day's KPIs: compute in the warehouse, store, write the CSV, publish the event, compare predictions. */
export async function dailyAnalyticsWorkflow(input: DailyAnalyticsInput = {}): Promise<DailyAnalyticsResult> {
  const { date, workflowId, stage } = beginPerDayRun(input);

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
