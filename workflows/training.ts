import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import type { ForestParams } from '../lib/model/forest';
import type { GateResult, ModelBaselines, ModelMetrics } from '../lib/model/registry';
import { PipelineStage } from '../lib/temporal/search-attributes';

const RETRY: RetryPolicy = {
  initialInterval: '2 seconds',
  maximumInterval: '1 minute',
  maximumAttempts: 5,
  nonRetryableErrorTypes: ['TrainingDataError', 'ModelRegistryError', 'WarehouseSchemaError', 'InvalidDateError'],
};

const { prepareTrainingData, evaluateModel, registerModelVersion, promoteIfBetter } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: RETRY,
});

// Training is long; the heartbeat timeout, not the start-to-close, notices a lost worker.
const { trainModel } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: RETRY,
});

/**
 * The defaults the platform trains with: 100 trees like scikit-learn's default, leaves of at least
 * 12 distinct rows (holdout MSE 0.2% below scikit-learn's default forest, 26 MB; docs/model_info.md).
 */
const DEFAULT_PARAMS: ForestParams = { nTrees: 100, minSamplesLeaf: 12, seed: 0 };

export interface TrainingInput {
  /** First day of the holdout split; default 2011-11-01. */
  boundary?: string;
  params?: Partial<ForestParams>;
  /** Gate tolerance on holdout MAE; default from PROMOTION_MAE_TOLERANCE. */
  tolerance?: number;
  /** Keep every n-th training row (quick trials); default all rows. */
  trainStride?: number;
  note?: string;
}

export interface TrainingResult {
  version: string;
  metrics: ModelMetrics;
  baselines: ModelBaselines;
  beatsBaselines: boolean;
  gate: GateResult;
  trainRows: number;
  testRows: number;
}

export function trainingWorkflowId(dateOrTag: string): string {
  return `model-training-${dateOrTag}`;
}

/** Extract features (SQL), train (heartbeats), evaluate, register, then promote only if no worse. */
export async function trainingWorkflow(input: TrainingInput = {}): Promise<TrainingResult> {
  const boundary = input.boundary ?? '2011-11-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(boundary)) throw ApplicationFailure.nonRetryable(`boundary must be YYYY-MM-DD, got "${boundary}"`, 'InvalidDateError');
  const params: ForestParams = { ...DEFAULT_PARAMS, ...input.params };
  // The run id names the staging files; a continued or reset run gets a fresh one.
  const runId = workflowInfo().runId;
  const stage = (name: string) => upsertSearchAttributes([{ key: PipelineStage, value: name }]);

  stage('extract');
  const { data, featureNames } = await prepareTrainingData({ runId, boundary, trainStride: input.trainStride });
  stage('train');
  await trainModel({ runId, params });
  stage('evaluate');
  const { metrics, baselines } = await evaluateModel({ runId });
  stage('register');
  const model = await registerModelVersion({
    runId, params, featureNames, data, metrics, baselines, note: input.note,
  });
  stage('promote');
  const gate = await promoteIfBetter({ version: model.version, tolerance: input.tolerance });
  stage('done');
  return {
    version: model.version,
    metrics,
    baselines,
    beatsBaselines: metrics.mae < baselines.lineRevenue.mae && metrics.mae < baselines.trainMean.mae,
    gate,
    trainRows: data.trainRows,
    testRows: data.testRows,
  };
}
