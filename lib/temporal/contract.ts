/**
 * The Temporal contract between the clients (CLI, API, tests, Airflow) and the workers: task
 * queue, workflow types, business IDs, inputs and results, queries, error types and search
 * attributes. Both sides import this one module, like the `shared.ts` of Temporal's samples.
 *
 * Deterministic-safe: only @temporalio/common and @temporalio/workflow's definers, pure project
 * modules and type-only imports, so workflow code may import it. The Airflow DAGs keep Python
 * copies of the names (dags/retailflow_temporal.py); tests_py/test_contract.py checks they match.
 */
import type { Duration } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { DailyKpis } from '../analytics/daily';
import type { PredictionOutcome } from '../analytics/predictions';
import type { LoadResult } from '../ingest/load';
import type { ForestParams } from '../model/forest';
import type { GateResult, ModelBaselines, ModelMetrics } from '../model/registry';
import type { Severity } from '../quality/thresholds';
import type { CheckResult } from '../quality/types';
import type { DatasetSummary } from '../summary';

export { ErrorType, type ErrorTypeName } from '../errors';
export { AnalyticsDate, PipelineStage, ScheduledStartTime, SEARCH_ATTRIBUTE_KEYS } from './search-attributes';

export { DEFAULT_TASK_QUEUE } from '../task-queue';

/** Workflow type names: the exported function names in workflows/index.ts. */
export const WorkflowType = {
  ingest: 'ingestWorkflow',
  dailyAnalytics: 'dailyAnalyticsWorkflow',
  dataQuality: 'dataQualityWorkflow',
  backfill: 'backfillWorkflow',
  training: 'trainingWorkflow',
  intradayRefresh: 'intradayRefreshWorkflow',
} as const;
export type WorkflowTypeName = (typeof WorkflowType)[keyof typeof WorkflowType];

// ---------------------------------------------------------------------------------------------
// Per-day workflows: one run per business day, ID `<prefix>-<date>`, optionally on a Schedule.

/**
 * Everything that differs between two per-day workflows. A new per-day workflow adds one entry
 * here (and its function in workflows/); the client, the backfill and the CLI factory need no copy.
 */
export const PER_DAY_WORKFLOWS = {
  dailyAnalyticsWorkflow: { idPrefix: 'daily-analytics', scheduleId: 'daily-analytics', scheduleHourUtc: 1, verb: 'analyses', label: 'daily analytics' },
  dataQualityWorkflow: { idPrefix: 'data-quality', scheduleId: 'data-quality', scheduleHourUtc: 2, verb: 'checks', label: 'data quality' },
} as const;
export type PerDayWorkflowType = keyof typeof PER_DAY_WORKFLOWS;

export function isPerDayWorkflowType(name: string): name is PerDayWorkflowType {
  return Object.prototype.hasOwnProperty.call(PER_DAY_WORKFLOWS, name);
}

/** The business key of one day's run: `daily-analytics-2011-12-09`. */
export function perDayWorkflowId(workflow: PerDayWorkflowType, date: string): string {
  return `${PER_DAY_WORKFLOWS[workflow].idPrefix}-${date}`;
}

export const dailyAnalyticsWorkflowId = (date: string): string => perDayWorkflowId('dailyAnalyticsWorkflow', date);
export const dataQualityWorkflowId = (date: string): string => perDayWorkflowId('dataQualityWorkflow', date);

/** A Schedule's runs get `<scheduleId>-scheduled` plus the server's timestamp suffix. */
export function scheduledWorkflowIdPrefix(workflow: PerDayWorkflowType): string {
  return `${PER_DAY_WORKFLOWS[workflow].scheduleId}-scheduled`;
}

/**
 * What every per-day workflow takes. With a date it works on that day. Without one (a Schedule's
 * run) it works on `day` relative to its scheduled time, in the shop's time zone: 'yesterday'
 * (the daily runs, default) or 'today' (the intraday refresh).
 */
export interface PerDayInput {
  /** YYYY-MM-DD. */
  date?: string;
  day?: 'yesterday' | 'today';
  /** IANA zone whose calendar decides the day (SHOP_TIMEZONE); default UTC. */
  timeZone?: string;
  /** With a date: an empty day is a `no-data` outcome, as on a Schedule's run (the intraday refresh sets it). */
  allowEmpty?: boolean;
}

/**
 * A Schedule's run on a day without orders completes with this instead of failing: an empty day
 * is normal (Sundays, holidays, a shop with no stream yet). An explicit date still fails, so
 * `analytics run --date D` on an empty day keeps its clear error and exit code 1.
 */
export interface NoDataOutcome {
  outcome: 'no-data';
  date: string;
  reason: string;
}

export type DailyAnalyticsInput = PerDayInput;

export interface DailyAnalyticsResult {
  outcome?: 'computed';
  date: string;
  kpis: DailyKpis;
  topProductCount: number;
  countryCount: number;
  csvPath: string;
  eventMessageId: string;
  predictions: PredictionOutcome;
}

export type DataQualityInput = PerDayInput;

export interface DataQualityResult {
  outcome?: 'checked';
  date: string;
  /** failed when any check failed; the workflow still completes (a fail is a finding, not a crash). */
  status: 'passed' | 'warned' | 'failed';
  counts: Record<Severity, number>;
  /** "check: detail" of every failed check. */
  reasons: string[];
  warnings: string[];
  results: CheckResult[];
  alertMessageIds: string[];
}

// ---------------------------------------------------------------------------------------------
// The Schedules `npm start` keeps (clients/platform-schedules.ts): IDs and the intraday refresh.

export const ScheduleId = {
  dailyAnalytics: PER_DAY_WORKFLOWS.dailyAnalyticsWorkflow.scheduleId,
  dataQuality: PER_DAY_WORKFLOWS.dataQualityWorkflow.scheduleId,
  intradayRefresh: 'intraday-refresh',
  weeklyTraining: 'weekly-training',
} as const;

export interface IntradayRefreshInput {
  /** IANA zone whose calendar decides "today" (SHOP_TIMEZONE); default UTC. */
  timeZone?: string;
}

/** The refreshed day's result, or why nothing was refreshed. */
export type IntradayRefreshResult = DailyAnalyticsResult | NoDataOutcome | { outcome: 'already-running'; date: string };

// ---------------------------------------------------------------------------------------------
// Backfill: one child per day with data in a range, for any per-day workflow.

export interface FailedDay {
  date: string;
  error: string;
}

export interface BackfillProgress {
  workflow: PerDayWorkflowType;
  total: number;
  done: number;
  failed: number;
  running: number;
  failedDays: FailedDay[];
}

export interface BackfillInput {
  /** Default dailyAnalyticsWorkflow. */
  workflow?: PerDayWorkflowType;
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

export function backfillWorkflowId(workflow: PerDayWorkflowType, from: string, to: string): string {
  return `backfill-${PER_DAY_WORKFLOWS[workflow].idPrefix}-${from}-${to}`;
}

// ---------------------------------------------------------------------------------------------
// Ingest.

export interface IngestInput {
  /** Defaults to DATA_CSV. */
  file?: string;
  force?: boolean;
}

export interface SummaryOutput {
  summary: DatasetSummary;
  csvPath: string;
}

export interface IngestResult {
  load: LoadResult;
  summary: SummaryOutput;
}

// ---------------------------------------------------------------------------------------------
// Training.

export const TRAINING_ID_PREFIX = 'model-training';

/** `model-training-<date or tag>`; the ml_training DAG uses the logical date, the CLI a tag. */
export function trainingWorkflowId(dateOrTag: string): string {
  return `${TRAINING_ID_PREFIX}-${dateOrTag}`;
}

export interface TrainingInput {
  /** First day of the holdout split; default 2011-11-01. */
  boundary?: string;
  params?: Partial<ForestParams>;
  /** Gate tolerance on holdout MAE; default from PROMOTION_MAE_TOLERANCE. */
  tolerance?: number;
  /** Keep every n-th training row (quick trials); default all rows. */
  trainStride?: number;
  note?: string;
  /**
   * How long trainModel may go without a heartbeat before the server gives the attempt to another
   * worker (a Temporal duration: '2 minutes', '10s', or milliseconds); default '2 minutes', at least 1 s. Shorter: a lost worker is noticed sooner (the
   * restart test uses seconds). Longer: slow or overloaded machines, where one tree takes longer.
   */
  trainHeartbeatTimeout?: Duration;
}

export interface TrainingResult {
  version: string;
  metrics: ModelMetrics;
  baselines: ModelBaselines;
  beatsBaselines: boolean;
  gate: GateResult;
  trainRows: number;
  testRows: number;
  /** The model document (MODEL_INFO_PATH) regenerated after the gate; a failure is reported here, not thrown. */
  modelInfo: { written: boolean; path?: string; error?: string };
}
