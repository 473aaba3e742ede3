/**
 * Activities are thin wrappers over lib/: they add heartbeats and turn configuration into
 * arguments. Dependencies are injected so tests can pass a throwaway warehouse.
 */
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import {
  computeDailyReport,
  DailyReport,
  datesWithData,
  storeDailyReport,
} from '../lib/analytics/daily';
import { DAILY_METRICS_SCHEMA_VERSION, DAILY_METRICS_TOPIC, dailyMetricsEvent } from '../lib/analytics/events';
import { NO_SCORER, PredictionOutcome } from '../lib/analytics/predictions';
import { writeDailyMetricsCsv } from '../lib/analytics/report-csv';
import { loadOrdersFile, LoadResult } from '../lib/ingest/load';
import { summarizeOrders, writeSummaryCsv } from '../lib/summary';
import type { IngestInput, SummaryOutput } from '../lib/temporal/contract';
import { topicEnsurer } from '../lib/eventbus/topics';
import { createQualityActivities } from './quality';
import { createModelActivities } from './model';
import type { ActivityDeps } from './deps';

export type { ActivityDeps } from './deps';

export interface StoreReportInput {
  report: DailyReport;
  workflowId: string;
}

/**
 * All activities of the worker. Each domain may keep its activities in its own file
 * (`activities/<domain>.ts` exporting `create<Domain>Activities(deps)`) and spread them in below.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createCoreActivities(deps),
    ...createQualityActivities(deps),
    ...createModelActivities(deps),
  };
}

function createCoreActivities({ warehouse, config, eventBus, scorer = NO_SCORER }: ActivityDeps) {
  const ensureTopic = topicEnsurer(eventBus);
  return {
    async loadOrders(input: IngestInput): Promise<LoadResult> {
      const file = path.resolve(input.file ?? config.dataCsv);
      return loadOrdersFile(warehouse, file, {
        force: input.force,
        onProgress: (linesRead) => Context.current().heartbeat({ linesRead }),
      });
    },

    async writeDatasetSummary(): Promise<SummaryOutput> {
      const summary = await summarizeOrders(warehouse);
      const csvPath = path.join(config.dataDir, 'dataset_summary.csv');
      writeSummaryCsv(summary, csvPath);
      return { summary, csvPath };
    },

    async computeDailyReport(input: { date: string }): Promise<DailyReport> {
      return computeDailyReport(warehouse, input.date);
    },

    /** Upsert the day into the warehouse and write data/daily_metrics_<date>.csv. */
    async storeDailyReport({ report, workflowId }: StoreReportInput): Promise<{ csvPath: string }> {
      await storeDailyReport(warehouse, report, workflowId);
      return { csvPath: writeDailyMetricsCsv(config.dataDir, report.kpis) };
    },

    async publishDailyMetrics({ report, workflowId }: StoreReportInput): Promise<{ messageId: string }> {
      await ensureTopic(DAILY_METRICS_TOPIC);
      const messageId = await eventBus.publish(DAILY_METRICS_TOPIC, dailyMetricsEvent(report, workflowId), {
        attributes: { date: report.kpis.date, schemaVersion: DAILY_METRICS_SCHEMA_VERSION },
      });
      return { messageId };
    },

    async scoreDayWithPromotedModel(input: { date: string }): Promise<PredictionOutcome> {
      return scorer.scoreDay(input.date);
    },

    async listDatesWithData(input: { from: string; to: string }): Promise<string[]> {
      return datesWithData(warehouse, input.from, input.to);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
