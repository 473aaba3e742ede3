/**
 * Activities are thin wrappers over lib/: they add heartbeats and turn configuration into
 * arguments. Dependencies are injected so tests can pass a throwaway warehouse.
 */
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Config } from '../lib/config';
import { loadOrdersFile, LoadResult } from '../lib/ingest/load';
import { DatasetSummary, summarizeOrders, writeSummaryCsv } from '../lib/summary';
import type { Warehouse } from '../lib/warehouse/types';

export interface ActivityDeps {
  warehouse: Warehouse;
  config: Config;
}

export interface LoadOrdersInput {
  /** Defaults to DATA_CSV. */
  file?: string;
  force?: boolean;
}

export interface SummaryOutput {
  summary: DatasetSummary;
  csvPath: string;
}

export function createActivities({ warehouse, config }: ActivityDeps) {
  return {
    async loadOrders(input: LoadOrdersInput): Promise<LoadResult> {
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
  };
}

export type Activities = ReturnType<typeof createActivities>;
