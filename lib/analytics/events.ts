/** The `daily-metrics` event: what subscribers of the topic receive after each daily run. */
import type { DailyReport } from './daily';

export const DAILY_METRICS_TOPIC = 'daily-metrics';
export const DAILY_METRICS_SCHEMA_VERSION = '1';

export interface DailyMetricsEvent {
  type: 'daily-metrics';
  schemaVersion: typeof DAILY_METRICS_SCHEMA_VERSION;
  date: string;
  kpis: DailyReport['kpis'];
  topProducts: DailyReport['topProducts'];
  countries: DailyReport['countries'];
  workflowId: string | null;
  generatedAt: string;
}

export function dailyMetricsEvent(report: DailyReport, workflowId: string | null): DailyMetricsEvent {
  return {
    type: 'daily-metrics',
    schemaVersion: DAILY_METRICS_SCHEMA_VERSION,
    date: report.kpis.date,
    kpis: report.kpis,
    topProducts: report.topProducts,
    countries: report.countries,
    workflowId,
    generatedAt: new Date().toISOString(),
  };
}
