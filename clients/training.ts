/**
 * Client-side operations on trainingWorkflow, shared by the CLI and the tests (the Airflow DAG
 * ml_training starts the same workflow type with the same ID scheme).
 */
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { trainingWorkflowId, WorkflowType, type TrainingInput, type TrainingResult } from '../lib/temporal/contract';
import { InvalidInputError } from '../lib/errors';

export type TrainingWorkflowFn = (input?: TrainingInput) => Promise<TrainingResult>;

/** A tag names the run: model-training-<tag>. A second start while it runs attaches to it. */
export function startTraining(
  client: Client,
  taskQueue: string,
  tag: string,
  input: TrainingInput,
): Promise<WorkflowHandleWithFirstExecutionRunId<TrainingWorkflowFn>> {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(tag)) throw new InvalidInputError(`tag must be 1-100 letters, digits, ".", "_" or "-", got "${tag}"`);
  return client.workflow.start<TrainingWorkflowFn>(WorkflowType.training, {
    taskQueue,
    args: [input],
    workflowId: trainingWorkflowId(tag),
    staticSummary: `train ${input.params?.nTrees ?? 100} trees, holdout from ${input.boundary ?? '2011-11-01'}, gated promotion`,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // A person re-running a tag means it (the DAG uses ALLOW_DUPLICATE_FAILED_ONLY instead).
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

export interface TrainingProgress {
  /** The workflow's status name: RUNNING, COMPLETED, FAILED, ... */
  status: string;
  /** Set while trainModel is pending: its attempt (1 = first) and the trees of its last heartbeat. */
  training?: { attempt: number; treesDone: number; nTrees?: number };
}

/** What the server knows about a training run right now (trainModel heartbeats after every tree). */
export async function trainingProgress(handle: WorkflowHandle): Promise<TrainingProgress> {
  const { raw, status } = await handle.describe();
  const pending = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'trainModel');
  if (!pending) return { status: status.name };
  const [details] = pending.heartbeatDetails?.payloads ?? [];
  const beat = details ? defaultPayloadConverter.fromPayload<{ treesDone?: number; nTrees?: number }>(details) : undefined;
  return { status: status.name, training: { attempt: pending.attempt ?? 1, treesDone: beat?.treesDone ?? 0, nTrees: beat?.nTrees } };
}
