/** The `dq-alert` event: one per check that warned or failed, on the Pub/Sub topic dq-alerts. */
import type { Severity } from './thresholds';
import type { CheckResult } from './types';

export const DQ_ALERTS_TOPIC = 'dq-alerts';
export const DQ_ALERT_SCHEMA_VERSION = '1';

export interface DqAlertEvent {
  type: 'dq-alert';
  schemaVersion: typeof DQ_ALERT_SCHEMA_VERSION;
  date: string;
  check: string;
  source: CheckResult['source'];
  severity: Exclude<Severity, 'pass'>;
  observed: number | null;
  warn: number | null;
  fail: number | null;
  detail: string;
  examples: CheckResult['examples'];
  workflowId: string | null;
  generatedAt: string;
}

export function dqAlertEvents(date: string, results: readonly CheckResult[], workflowId: string | null): DqAlertEvent[] {
  const generatedAt = new Date().toISOString();
  return results.flatMap((r) => (r.severity === 'pass' ? [] : [{
    type: 'dq-alert' as const, schemaVersion: DQ_ALERT_SCHEMA_VERSION, date, check: r.check, source: r.source,
    severity: r.severity, observed: r.observed, warn: r.warn, fail: r.fail, detail: r.detail, examples: r.examples,
    workflowId, generatedAt,
  }]));
}
