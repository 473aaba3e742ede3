import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import { ErrorType, PipelineStage, type IngestInput, type IngestResult } from '../lib/temporal/contract';

const { loadOrders, writeDatasetSummary } = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    // A missing file or a wrong header will not fix itself on retry.
    nonRetryableErrorTypes: [ErrorType.Ingest, ErrorType.WarehouseSchema],
  },
});

/** Load the Online Retail CSV into orders_raw, then refresh data/dataset_summary.csv. */
export async function ingestWorkflow(input: IngestInput = {}): Promise<IngestResult> {
  upsertSearchAttributes([{ key: PipelineStage, value: 'ingest' }]);
  const load = await loadOrders(input);
  const summary = await writeDatasetSummary();
  return { load, summary };
}
