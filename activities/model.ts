/** Activities of the training workflow: thin wrappers over lib/model. */
import { Context } from '@temporalio/activity';
import type { ForestParams } from '../lib/model/forest';
import { ModelInfoWrite, writeModelInfo } from '../lib/model/model-info';
import { FileModelStore } from '../lib/model/store';
import {
  defaultVersionId,
  GateResult,
  ModelBaselines,
  ModelDataRange,
  ModelMetrics,
  ModelVersion,
  promoteIfBetter,
  registerModel,
} from '../lib/model/registry';
import {
  evaluateStagedModel,
  prepareTrainingData,
  removeStaging,
  stagedArtifact,
  trainStagedModel,
  TrainingRunInput,
} from '../lib/model/training';
import type { ActivityDeps } from './deps';

export interface RegisterInput {
  runId: string;
  params: ForestParams;
  featureNames: string[];
  data: ModelDataRange;
  metrics: ModelMetrics;
  baselines: ModelBaselines;
  note?: string;
}

export function createModelActivities({ warehouse, config }: ActivityDeps) {
  const storeDir = config.model.storeDir;
  return {
    async prepareTrainingData(input: TrainingRunInput): Promise<{ data: ModelDataRange; featureNames: string[] }> {
      return prepareTrainingData(warehouse, storeDir, input);
    },

    /** Long: heartbeats after every tree, so a lost worker is noticed within the heartbeat timeout and the step retried. */
    async trainModel(input: { runId: string; params: ForestParams }): Promise<{ bytes: number; seconds: number }> {
      const ctx = Context.current();
      ctx.heartbeat({ treesDone: 0, nTrees: input.params.nTrees });
      return trainStagedModel(storeDir, input.runId, input.params, (treesDone, nTrees) => ctx.heartbeat({ treesDone, nTrees }));
    },

    async evaluateModel(input: { runId: string }): Promise<{ metrics: ModelMetrics; baselines: ModelBaselines }> {
      return evaluateStagedModel(storeDir, input.runId);
    },

    async registerModelVersion(input: RegisterInput): Promise<ModelVersion> {
      const { runId, params, ...rest } = input;
      const createdAt = new Date();
      const version = await registerModel(warehouse, new FileModelStore(storeDir), {
        ...rest,
        params: { ...params },
        artifact: stagedArtifact(storeDir, runId),
        createdAt,
        // Training is deterministic, so two runs can produce the same bytes: the run names the version.
        version: `${defaultVersionId(createdAt, '').replace(/-$/, '')}-${runId.replace(/-/g, '').slice(-8)}`,
      });
      removeStaging(storeDir, runId);
      return version;
    },

    async promoteIfBetter(input: { version: string; tolerance?: number }): Promise<GateResult> {
      return promoteIfBetter(warehouse, input.version, { tolerance: input.tolerance ?? config.model.promotionMaeTolerance, maxArtifactBytes: config.model.maxArtifactBytes });
    },

    /** Regenerate the registry section of MODEL_INFO_PATH (docs/model_info.md), with the gate's decision. */
    async writeModelInfo(input: { gate?: GateResult }): Promise<ModelInfoWrite & { versions: number; promoted: string | null }> {
      return writeModelInfo(warehouse, config.model.infoPath, input.gate);
    },
  };
}
