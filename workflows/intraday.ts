import { executeChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import { zonedDateOf } from '../lib/dates';
import {
  dailyAnalyticsWorkflowId,
  ScheduledStartTime,
  WorkflowType,
  type IntradayRefreshInput,
  type IntradayRefreshResult,
} from '../lib/temporal/contract';
import type { dailyAnalyticsWorkflow } from './analytics';

/**
 * "Today so far", every few minutes (Schedule intraday-refresh): today's KPIs are recomputed by
 * the same per-day workflow, under the day's own business ID `daily-analytics-<today>`, so the
 * latest refresh is what the warehouse holds and the nightly run of yesterday replaces it with
 * the complete day. An empty today is an outcome, not a failure.
 */
export async function intradayRefreshWorkflow(input: IntradayRefreshInput = {}): Promise<IntradayRefreshResult> {
  const info = workflowInfo();
  const at = info.typedSearchAttributes.get(ScheduledStartTime) ?? info.runStartTime;
  const today = zonedDateOf(at, input.timeZone ?? 'UTC');
  try {
    return await executeChild<typeof dailyAnalyticsWorkflow>(WorkflowType.dailyAnalytics, {
      args: [{ date: today, allowEmpty: true }],
      workflowId: dailyAnalyticsWorkflowId(today),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    // A run of today started elsewhere (the CLI, a backfill) is refreshing it already.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { outcome: 'already-running', date: today };
    throw err;
  }
}
