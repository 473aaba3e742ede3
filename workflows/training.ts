import { ApplicationFailure, log, patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Duration, RetryPolicy } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import { assertIsoDate } from '../lib/dates';
import { rootCauseMessage } from '../lib/errors';
import type { ForestParams } from '../lib/model/forest';
import { ErrorType, PipelineStage, type TrainingInput, type TrainingResult } from '../lib/temporal/contract';

const RETRY: RetryPolicy = {
  initialInterval: '2 seconds',
  maximumInterval: '1 minute',
  maximumAttempts: 5,
  nonRetryableErrorTypes: [ErrorType.TrainingData, ErrorType.ModelRegistry, ErrorType.WarehouseSchema, ErrorType.InvalidDate],
};

const { prepareTrainingData, evaluateModel, registerModelVersion, promoteIfBetter } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: RETRY,
});

// Writing docs/model_info.md comes after the model is registered and gated: a few quick tries, and
// a failure is reported in the result, never fails the run (a retried run would train again).
const { writeModelInfo } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: [ErrorType.ModelInfo, ErrorType.WarehouseSchema] },
});

/**
 * Training is long; the heartbeat timeout, not the start-to-close, notices a lost worker: a worker
 * that dies mid-training stops heartbeating (after every tree), the server times the attempt out
 * after this long and another worker retries it from the staged input.
 */
const DEFAULT_TRAIN_HEARTBEAT_TIMEOUT = '2 minutes';
/** Shorter than this and a busy machine (one slow tree, a GC pause) would time out a healthy worker. */
const MIN_TRAIN_HEARTBEAT_TIMEOUT_MS = 1_000;

/** The trainModel proxy for one run: built inside the workflow because its heartbeat timeout is an input. */
function trainModelActivity(heartbeatTimeout: Duration) {
  return proxyActivities<Activities>({ startToCloseTimeout: '2 hours', heartbeatTimeout, retry: RETRY }).trainModel;
}

/**
 * The defaults the platform trains with: 100 trees like scikit-learn's default, leaves of at least
 * 12 distinct rows (holdout MSE 0.2% below scikit-learn's default forest, 26 MB; docs/model_info.md).
 */
const DEFAULT_PARAMS: ForestParams = { nTrees: 100, minSamplesLeaf: 12, seed: 0 };

/** Extract features (SQL), train (heartbeats), evaluate, register, then promote only if no worse. */
export async function trainingWorkflow(input: TrainingInput = {}): Promise<TrainingResult> {
  const boundary = input.boundary ?? '2011-11-01';
  try {
    assertIsoDate(boundary, 'boundary');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, ErrorType.InvalidDate);
  }
  const params: ForestParams = { ...DEFAULT_PARAMS, ...input.params };
  const trainModel = trainModelActivity(heartbeatTimeout(input.trainHeartbeatTimeout));
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
  // Also when the gate kept the current model: the new version is registered all the same.
  // patched(): runs that completed before this step existed replay without it.
  let modelInfo: TrainingResult['modelInfo'] = { written: false };
  if (patched('write-model-info')) {
    stage('document');
    try {
      const written = await writeModelInfo({ gate });
      modelInfo = { written: true, path: written.path };
    } catch (err) {
      const error = rootCauseMessage(err);
      log.warn('model info document not regenerated', { error });
      modelInfo = { written: false, error };
    }
  }
  stage('done');
  return {
    version: model.version,
    metrics,
    baselines,
    beatsBaselines: metrics.mae < baselines.lineRevenue.mae && metrics.mae < baselines.trainMean.mae,
    gate,
    trainRows: data.trainRows,
    testRows: data.testRows,
    modelInfo,
  };
}

function heartbeatTimeout(value: Duration | undefined): Duration {
  if (value === undefined) return DEFAULT_TRAIN_HEARTBEAT_TIMEOUT;
  let millis: number;
  try {
    millis = msToNumber(value);
  } catch {
    millis = NaN;
  }
  if (!Number.isFinite(millis) || millis < MIN_TRAIN_HEARTBEAT_TIMEOUT_MS) {
    throw ApplicationFailure.nonRetryable(`trainHeartbeatTimeout must be a duration of at least 1 s, got ${JSON.stringify(value)}`, ErrorType.InvalidInput);
  }
  return value;
}
