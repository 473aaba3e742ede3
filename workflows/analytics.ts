// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import { formatPounds } from '../lib/analytics/money';
import type { DailyAnalyticsInput, DailyAnalyticsResult, NoDataOutcome } from '../lib/temporal/contract';
import { beginPerDayRun, perDayActivities } from './per-day';

const { computeDailyReport, storeDailyReport, publishDailyMetrics, scoreDayWithPromotedModel } =
  perDayActivities<Activities>({ startToCloseTimeout: '2 minutes' });

/** One day's KPIs: compute in the warehouse, store, write the CSV, publish the event, compare predictions. */
export async function dailyAnalyticsWorkflow(input: DailyAnalyticsInput = {}): Promise<DailyAnalyticsResult | NoDataOutcome> {
  const { date, workflowId, stage, describe, unlessNoData } = beginPerDayRun(input);

  stage('compute');
  const report = await unlessNoData(() => computeDailyReport({ date }));
  if ('outcome' in report) return report;
  stage('store');
  const { csvPath } = await storeDailyReport({ report, workflowId });
  stage('publish');
  const { messageId } = await publishDailyMetrics({ report, workflowId });
  stage('predictions');
  const predictions = await scoreDayWithPromotedModel({ date });
  stage('done');
  const { kpis } = report;
  const mae = predictions.status === 'scored' ? ` · predictions MAE ${formatPounds(predictions.mae)}` : '';
  describe(`${date} · ${kpis.orders} orders · ${formatPounds(kpis.gross_revenue)} gross · ${formatPounds(kpis.net_revenue)} net${mae}`);
  return {
    date,
    kpis,
    topProductCount: report.topProducts.length,
    countryCount: report.countries.length,
    csvPath,
    eventMessageId: messageId,
    predictions,
  };
}
