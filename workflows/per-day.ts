/**
 * The per-day pattern on the workflow side, written once: which day a run works on, its stages
 * (visible in the Web UI as the PipelineStage search attribute) and the retry policy of its steps.
 * dailyAnalyticsWorkflow and dataQualityWorkflow use it; so does any new per-day workflow.
 */
import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Duration, RetryPolicy } from '@temporalio/common';
import { assertIsoDate, utcDateOf } from '../lib/dates';
import { AnalyticsDate, ErrorType, PipelineStage, ScheduledStartTime, type PerDayInput } from '../lib/temporal/contract';

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

/** The activities of a per-day workflow, with the per-day retry policy. */
export function perDayActivities<A extends object>(options: { startToCloseTimeout: Duration; alsoNonRetryable?: readonly string[] }): A {
  // proxyActivities' constraint is ActivityInterfaceFor<A>; every A we pass is an activities record.
  return proxyActivities<A>({ startToCloseTimeout: options.startToCloseTimeout, retry: perDayRetry(options.alsoNonRetryable) }) as A;
}

export interface PerDayRun {
  /** The business day this run works on. */
  date: string;
  workflowId: string;
  /** Record the step the run is in (Web UI column PipelineStage; the day is AnalyticsDate). */
  stage(name: string): void;
}

/** Resolve and validate the run's day; an invalid date fails the run at once, without retries. */
export function beginPerDayRun(input: PerDayInput = {}): PerDayRun {
  const date = input.date ?? previousDayOfScheduledStart();
  try {
    assertIsoDate(date);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, ErrorType.InvalidDate);
  }
  const { workflowId } = workflowInfo();
  const day = new Date(`${date}T00:00:00Z`);
  return {
    date,
    workflowId,
    stage: (name) => upsertSearchAttributes([{ key: AnalyticsDate, value: day }, { key: PipelineStage, value: name }]),
  };
}

/** The calendar day before the Schedule's nominal start (not the actual start, which may lag on catch-up). */
function previousDayOfScheduledStart(): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.runStartTime;
  return utcDateOf(new Date(scheduled.getTime() - 86_400_000));
}
