/** Shapes shared by the checks, the activities, the workflow and the CLI (no runtime code). */
import type { Severity } from './thresholds';

export type DqSource = 'orders_raw' | 'orders_stream';

export interface ExampleKey {
  invoice_no: string;
  stock_code: string;
}

export interface CheckResult {
  /** e.g. "uniqueness.duplicate_lines"; the category is the part before the dot. */
  check: string;
  category: string;
  source: DqSource;
  severity: Severity;
  /** The measured value compared with the thresholds; null when there was nothing to measure. */
  observed: number | null;
  warn: number | null;
  fail: number | null;
  /** Lines the check flagged (0 for checks that measure a whole day, like volume). */
  flaggedLines: number;
  examples: ExampleKey[];
  detail: string;
}

export interface DqDayReport {
  date: string;
  results: CheckResult[];
}
