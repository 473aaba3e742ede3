import {
  continueAsNew,
  defineQuery,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  condition,
  ApplicationFailure,
} from '@temporalio/workflow';
import { WorkflowIdReusePolicy } from '@temporalio/common';
// Only import the activity types: workflow code is bundled and must stay deterministic.
import type { Activities } from '../activities';
import { PipelineStage } from '../lib/temporal/search-attributes';

const { listDatesWithData } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidDateError', 'WarehouseSchemaError'] },
});

/**
 * Per-day workflows a backfill can run, with the business-key prefix of their IDs. One generic
 * backfill serves them all: add a line here when a new per-day workflow exists.
 */
export const BACKFILL_TARGETS = {
  dailyAnalyticsWorkflow: 'daily-analytics',
  dataQualityWorkflow: 'data-quality',
} as const;
export type BackfillTarget = keyof typeof BACKFILL_TARGETS;

export interface FailedDay {
  date: string;
  error: string;
}

export interface BackfillProgress {
  workflow: BackfillTarget;
  total: number;
  done: number;
  failed: number;
  running: number;
  failedDays: FailedDay[];
}

export interface BackfillInput {
  /** Default dailyAnalyticsWorkflow. */
  workflow?: BackfillTarget;
  from: string;
  to: string;
  /** Children running at once; default 8. */
  concurrency?: number;
  /** Children started per run before continuing as new (keeps history short); default 100. */
  maxChildrenPerRun?: number;
  /** Carried across continue-as-new; callers leave it out. */
  carry?: { remaining: string[]; total: number; done: number; failedDays: FailedDay[] };
}

export type BackfillResult = Omit<BackfillProgress, 'running'>;

export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

export function backfillWorkflowId(workflow: BackfillTarget, from: string, to: string): string {
  return `backfill-${BACKFILL_TARGETS[workflow]}-${from}-${to}`;
}

/** Run one child workflow per day with data in [from, to], at most `concurrency` at a time. */
export async function backfillWorkflow(input: BackfillInput): Promise<BackfillResult> {
  const workflow = input.workflow ?? 'dailyAnalyticsWorkflow';
  if (!(workflow in BACKFILL_TARGETS)) throw ApplicationFailure.nonRetryable(`unknown backfill target ${workflow}`, 'InvalidInput');
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
        workflowId: `${BACKFILL_TARGETS[workflow]}-${date}`,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
      state.done++;
    } catch (err) {
      failedDays.push({ date, error: describe(err) });
    } finally {
      running--;
    }
  };

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

/** The root cause's message: "child failed: activity failed: no order lines" is noise in a report. */
function describe(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
