/** Builds a CheckResult: the one place where an observed value becomes a severity. */
import { Limit, severityOf } from './thresholds';
import type { CheckResult, DqSource, ExampleKey } from './types';

/**
 * The `source` that the checks of order_lines (loaded + streamed lines, lib/order-lines.ts)
 * report. Still 'orders_raw', the name the data-quality workflow and the `dq` CLI print without a
 * prefix (workflows/quality.ts prefixes every other source): switching it to 'order_lines' needs
 * that workflow line changed with it.
 */
export const ORDER_LINES_SOURCE: DqSource = 'orders_raw';

/** A null observation or no limit means "not judged": severity pass, with the reason in `detail`. */
export function result(
  check: string, source: DqSource, observed: number | null, limit: Limit | null,
  extra: { flaggedLines?: number; examples?: ExampleKey[]; detail: string },
): CheckResult {
  return {
    check,
    category: check.split('.')[0],
    source,
    severity: observed === null || limit === null ? 'pass' : severityOf(observed, limit),
    observed,
    warn: limit?.warn ?? null,
    fail: limit?.fail ?? null,
    flaggedLines: extra.flaggedLines ?? 0,
    examples: extra.examples ?? [],
    detail: extra.detail,
  };
}
