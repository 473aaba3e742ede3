/**
 * The per-day pattern on the workflow side, written once: which day a run works on, its stages
 * (visible in the Web UI as the PipelineStage search attribute and the run's current details) and
 * the retry policy of its steps. dailyAnalyticsWorkflow and dataQualityWorkflow use it; so does
 * any new per-day workflow.
 */
import { ActivityFailure, ApplicationFailure, patched, proxyActivities, proxyLocalActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { CancelledFailure, RetryState, TemporalFailure, TimeoutFailure, type Duration, type RetryPolicy } from '@temporalio/common';
import { addDays, assertIsoDate, zonedDateOf } from '../lib/dates';
import { AnalyticsDate, ErrorType, PipelineStage, ScheduledStartTime, type NoDataOutcome, type PerDayInput } from '../lib/temporal/contract';

/** A bad date, a day without data or a schema mismatch will not change on retry. */
const PER_DAY_NON_RETRYABLE: readonly string[] = [ErrorType.InvalidDate, ErrorType.NoDataForDate, ErrorType.WarehouseSchema];

export function perDayRetry(alsoNonRetryable: readonly string[] = []): RetryPolicy {
  return {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...PER_DAY_NON_RETRYABLE, ...alsoNonRetryable],
  };
}

/**
 * Per-day steps run as local activities (issue: speed). A day's steps are short (tens of ms) and
 * the same worker runs them, so a task-queue round trip per step cost more than the step: a day
 * took 5 workflow tasks and 4 activity tasks (16 state transitions), now one workflow task that
 * records a marker per step. Retries and timeouts are the same; a step longer than the workflow
 * task timeout keeps the task alive (the SDK heartbeats it), and the stages still reach the Web UI,
 * at the end of the task rather than at each step. Runs recorded before this patch replay with
 * the activities they scheduled.
 */
export const LOCAL_STEPS_PATCH = 'per-day-local-activities';

/** The activities of a per-day workflow, with the per-day retry policy. */
export function perDayActivities<A extends object>(options: { startToCloseTimeout: Duration; alsoNonRetryable?: readonly string[] }): A {
  const retry = perDayRetry(options.alsoNonRetryable);
  const settings = { startToCloseTimeout: options.startToCloseTimeout, retry };
  // proxyActivities' constraint is ActivityInterfaceFor<A>; every A we pass is an activities record.
  const remote = proxyActivities<A>(settings) as Record<string | symbol, unknown>;
  const local = proxyLocalActivities<A>(settings) as Record<string | symbol, unknown>;
  // The choice is made at call time: patched() needs the workflow context, and must be asked
  // before the first step, in the order old runs scheduled their activities.
  return new Proxy({}, {
    get: (_target, name) => async (...args: unknown[]) => {
      if (!patched(LOCAL_STEPS_PATCH)) return (remote[name] as Step)(...args);
      try {
        return await (local[name] as Step)(...args);
      } catch (err) {
        throw asActivityFailure(err, String(name), retry);
      }
    },
  }) as A;
}

type Step = (...args: unknown[]) => Promise<unknown>;

/**
 * A failed local activity reaches the workflow as its bare cause. Wrapped as an ActivityFailure,
 * it reads as an activity's failure did before (type, retry state, root cause), so callers, the
 * Web UI's failure and the CLI's messages do not depend on where the step ran.
 */
function asActivityFailure(err: unknown, activityType: string, retry: RetryPolicy): unknown {
  if (err instanceof ActivityFailure || err instanceof CancelledFailure || !(err instanceof TemporalFailure)) return err;
  return new ActivityFailure('Local activity task failed', activityType, undefined, retryStateOf(err, retry), undefined, err);
}

function retryStateOf(cause: TemporalFailure, retry: RetryPolicy): RetryState {
  if (cause instanceof TimeoutFailure) return RetryState.TIMEOUT;
  const nonRetryable = cause instanceof ApplicationFailure && (cause.nonRetryable || (retry.nonRetryableErrorTypes ?? []).includes(cause.type ?? ''));
  return nonRetryable ? RetryState.NON_RETRYABLE_FAILURE : RetryState.MAXIMUM_ATTEMPTS_REACHED;
}

export interface PerDayRun {
  /** The business day this run works on. */
  date: string;
  workflowId: string;
  /** Started by a Schedule (no explicit date, or allowEmpty): an empty day is then an outcome, not a failure. */
  scheduled: boolean;
  /** Record the step the run is in (Web UI: PipelineStage column, and the run's current details). */
  stage(name: string): void;
  /** The run's current details in the Web UI: one human line, e.g. "2011-12-09 · 44 orders · £200,920.60 gross". */
  describe(details: string): void;
  /**
   * Run `step`; on a scheduled run a day without data ends the run with a `no-data` outcome
   * (returned instead of the step's result). An explicit date keeps failing, with the message.
   */
  unlessNoData<T>(step: () => Promise<T>): Promise<T | NoDataOutcome>;
}

/** Resolve and validate the run's day; an invalid date fails the run at once, without retries. */
export function beginPerDayRun(input: PerDayInput = {}): PerDayRun {
  const date = input.date ?? scheduledDay(input);
  try {
    assertIsoDate(date);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, ErrorType.InvalidDate);
  }
  const { workflowId } = workflowInfo();
  const day = new Date(`${date}T00:00:00Z`);
  const scheduled = input.date === undefined || input.allowEmpty === true;
  const describe = (details: string) => setCurrentDetails(details);
  return {
    date,
    workflowId,
    scheduled,
    describe,
    stage: (name) => {
      upsertSearchAttributes([{ key: AnalyticsDate, value: day }, { key: PipelineStage, value: name }]);
      describe(`${date} · ${name}`);
    },
    unlessNoData: async (step) => {
      try {
        return await step();
      } catch (err) {
        const reason = noDataReason(err);
        // patched(): runs that failed on an empty day before this outcome existed replay as they were.
        if (!scheduled || reason === undefined || !patched('scheduled-no-data-outcome')) throw err;
        upsertSearchAttributes([{ key: AnalyticsDate, value: day }, { key: PipelineStage, value: 'no-data' }]);
        describe(`${date} · no data: ${reason}`);
        return { outcome: 'no-data', date, reason };
      }
    },
  };
}

function noDataReason(err: unknown): string | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  return cause instanceof ApplicationFailure && cause.type === ErrorType.NoDataForDate ? cause.message : undefined;
}

/**
 * The day a Schedule's run works on, from its nominal start (not the actual start, which may lag
 * on catch-up), in the shop's calendar: the day before for the daily runs, the same day for the
 * intraday refresh. Without a time zone, UTC (the behaviour before SHOP_TIMEZONE existed).
 */
function scheduledDay(input: PerDayInput): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.runStartTime;
  const today = zonedDateOf(scheduled, input.timeZone ?? 'UTC');
  return input.day === 'today' ? today : addDays(today, -1);
}
