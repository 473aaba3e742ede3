import {
  continueAsNew,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  condition,
  ApplicationFailure,
} from '@temporalio/workflow';
import { WorkflowIdReusePolicy } from '@temporalio/common';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import { rootCauseMessage } from '../lib/errors';
import {
  backfillProgressQuery,
  ErrorType,
  isPerDayWorkflowType,
  PER_DAY_WORKFLOWS,
  perDayWorkflowId,
  PipelineStage,
  type BackfillInput,
  type BackfillResult,
} from '../lib/temporal/contract';

const { listDatesWithData } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.InvalidDate, ErrorType.WarehouseSchema] },
});

/** Run one child workflow per day with data in [from, to], at most `concurrency` at a time. */
export async function backfillWorkflow(input: BackfillInput): Promise<BackfillResult> {
  const workflow = input.workflow ?? 'dailyAnalyticsWorkflow';
  if (!isPerDayWorkflowType(workflow)) throw ApplicationFailure.nonRetryable(`unknown backfill target ${workflow}`, ErrorType.InvalidInput);
  const concurrency = Math.max(1, Math.floor(input.concurrency ?? 8));
  const maxPerRun = Math.max(1, Math.floor(input.maxChildrenPerRun ?? 100));
  upsertSearchAttributes([{ key: PipelineStage, value: 'backfill' }]);

  // The query answers from the first moment, even while the day list is still being fetched.
  let state: NonNullable<BackfillInput['carry']> = input.carry ?? { remaining: [], total: 0, done: 0, failedDays: [] };
  let running = 0;
  setHandler(backfillProgressQuery, () => ({
    workflow, total: state.total, done: state.done, failed: state.failedDays.length, running, failedDays: state.failedDays,
  }));
  if (!input.carry) state = await firstRunState(input.from, input.to);
  const { remaining, failedDays } = state;

  const runDay = async (date: string): Promise<void> => {
    running++;
    try {
      await executeChild(workflow, {
        args: [{ date }],
        workflowId: perDayWorkflowId(workflow, date),
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        staticSummary: `${PER_DAY_WORKFLOWS[workflow].label} ${date} (backfill ${input.from}..${input.to})`,
      });
      state.done++;
    } catch (err) {
      failedDays.push({ date, error: rootCauseMessage(err) });
    } finally {
      running--;
      describeProgress();
    }
  };
  const describeProgress = () =>
    setCurrentDetails(`backfill ${input.from}..${input.to} · ${state.total} days · ${state.done} done, ${failedDays.length} failed, ${running} running`);
  describeProgress();

  let startedThisRun = 0;
  const inFlight: Promise<void>[] = [];
  while (remaining.length > 0 && startedThisRun < maxPerRun && !workflowInfo().continueAsNewSuggested) {
    await condition(() => running < concurrency);
    inFlight.push(runDay(remaining.shift() as string));
    startedThisRun++;
  }
  await Promise.all(inFlight);
  if (remaining.length > 0) {
    await continueAsNew<typeof backfillWorkflow>({ ...input, carry: state });
  }
  return { workflow, total: state.total, done: state.done, failed: failedDays.length, failedDays };
}

async function firstRunState(from: string, to: string): Promise<NonNullable<BackfillInput['carry']>> {
  const dates = await listDatesWithData({ from, to });
  return { remaining: dates, total: dates.length, done: 0, failedDays: [] };
}
