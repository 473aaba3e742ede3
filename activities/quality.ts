/** Data-quality activities: run the day's checks in the warehouse, store them, publish alerts. */
import { runDayChecks } from '../lib/quality/checks';
import { DQ_ALERT_SCHEMA_VERSION, DQ_ALERTS_TOPIC, dqAlertEvents } from '../lib/quality/events';
import { storeDqResults } from '../lib/quality/results';
import { loadThresholds } from '../lib/quality/thresholds';
import type { DqDayReport } from '../lib/quality/types';
import { topicEnsurer } from '../lib/eventbus/topics';
import type { ActivityDeps } from './deps';

export interface DqReportInput {
  report: DqDayReport;
  workflowId: string;
}

export function createQualityActivities(deps: ActivityDeps) {
  const { warehouse, eventBus, config } = deps;
  const ensureTopic = topicEnsurer(eventBus);
  return {
    /** Thresholds are read on every run, so an edited file applies without restarting the worker. */
    async runDataQualityChecks(input: { date: string }): Promise<DqDayReport> {
      return { date: input.date, results: await runDayChecks(warehouse, input.date, loadThresholds(config.quality.thresholdsFile)) };
    },

    async storeDataQualityResults({ report, workflowId }: DqReportInput): Promise<{ rows: number }> {
      return { rows: await storeDqResults(warehouse, report, workflowId) };
    },

    /** One alert per warned or failed check; returns the message ids. */
    async publishDataQualityAlerts({ report, workflowId }: DqReportInput): Promise<{ messageIds: string[] }> {
      const events = dqAlertEvents(report.date, report.results, workflowId);
      if (events.length === 0) return { messageIds: [] };
      await ensureTopic(DQ_ALERTS_TOPIC);
      const messageIds = await Promise.all(events.map((e) => eventBus.publish(DQ_ALERTS_TOPIC, e, {
        attributes: { date: e.date, check: e.check, severity: e.severity, schemaVersion: DQ_ALERT_SCHEMA_VERSION },
      })));
      return { messageIds };
    },
  };
}
