import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { PipelineStage } from '../lib/temporal/search-attributes';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities, LoadOrdersInput, SummaryOutput } from '../activities';
import type { LoadResult } from '../lib/ingest/load';

const { loadOrders, writeDatasetSummary } = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    // A missing file or a wrong header will not fix itself on retry.
    nonRetryableErrorTypes: ['IngestError', 'WarehouseSchemaError'],
  },
});

export interface IngestResult {
  load: LoadResult;
  summary: SummaryOutput;
}

/** Load the Online Retail CSV into orders_raw, then refresh data/dataset_summary.csv. */
export async function ingestWorkflow(input: LoadOrdersInput = {}): Promise<IngestResult> {
  upsertSearchAttributes([{ key: PipelineStage, value: 'ingest' }]);
  const load = await loadOrders(input);
  const summary = await writeDatasetSummary();
  return { load, summary };
}
