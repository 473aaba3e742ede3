/**
 * Data-quality thresholds: one JSON file (config/quality-thresholds.json, or the file named by
 * DQ_THRESHOLDS_FILE). Every check is "higher is worse": severity is fail when the observed value
 * exceeds `fail`, warn when it exceeds `warn`, else pass. The defaults were derived from the data's
 * own history by scripts/derive-dq-thresholds.ts (numbers recorded in docs/data_quality.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_THRESHOLDS_FILE, PROJECT_ROOT } from '../config';

export { DEFAULT_THRESHOLDS_FILE };
import { ErrorType, ExpectedError } from '../errors';

export type Severity = 'pass' | 'warn' | 'fail';

export const SEVERITY_RANK: Record<Severity, number> = { pass: 0, warn: 1, fail: 2 };

export interface Limit {
  warn: number;
  fail: number;
}

export interface OutlierSettings {
  /** A line is an outlier when (x - median) / (1.4826 * MAD) exceeds this, per product. */
  k: number;
  /** Days of the product's history before the checked day. */
  historyDays: number;
  /** Fewer history lines than this: compare against all products' lines with `fallbackK`. */
  minHistoryLines: number;
  fallbackK: number;
}

export interface VolumeSettings {
  trailingDays: number;
  /** Fewer days with data in the window than this: the volume checks pass with a note. */
  minHistoryDays: number;
}

export interface QualityThresholds {
  checks: Record<string, Limit>;
  outliers: OutlierSettings;
  volume: VolumeSettings;
  /** Example keys (InvoiceNo, StockCode) kept per check for drilling down. */
  examples: number;
}

export class InvalidThresholdsError extends ExpectedError {
  override readonly name = ErrorType.InvalidThresholds;
}

/** The file DQ_THRESHOLDS_FILE names in `env` (the config loader passes the real environment). */
export function thresholdsFile(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env.DQ_THRESHOLDS_FILE;
  return path.resolve(PROJECT_ROOT, configured && configured !== '' ? configured : DEFAULT_THRESHOLDS_FILE);
}

export function loadThresholds(file = DEFAULT_THRESHOLDS_FILE): QualityThresholds {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidThresholdsError(`cannot read data-quality thresholds ${file}: ${(err as Error).message}`);
  }
  return validate(parsed, file);
}

function validate(raw: unknown, file: string): QualityThresholds {
  const t = raw as Partial<QualityThresholds>;
  if (!t || typeof t.checks !== 'object' || !t.outliers || !t.volume || typeof t.examples !== 'number') {
    throw new InvalidThresholdsError(`${file}: expected { checks, outliers, volume, examples }`);
  }
  for (const [name, limit] of Object.entries(t.checks)) {
    if (typeof limit?.warn !== 'number' || typeof limit?.fail !== 'number' || limit.warn > limit.fail) {
      throw new InvalidThresholdsError(`${file}: check ${name} needs numbers warn <= fail`);
    }
  }
  return t as QualityThresholds;
}

export function limitFor(t: QualityThresholds, check: string): Limit {
  const limit = t.checks[check];
  if (!limit) throw new InvalidThresholdsError(`no threshold configured for check ${check}`);
  return limit;
}

export function severityOf(observed: number, limit: Limit): Severity {
  if (observed > limit.fail) return 'fail';
  if (observed > limit.warn) return 'warn';
  return 'pass';
}

export function worstSeverity(list: readonly Severity[]): Severity {
  return list.reduce<Severity>((worst, s) => (SEVERITY_RANK[s] > SEVERITY_RANK[worst] ? s : worst), 'pass');
}
