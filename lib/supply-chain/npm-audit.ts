/**
 * Reading `npm audit --omit=dev --json` for CI: high or critical findings fail; an advisory
 * endpoint that cannot be reached is reported as such (this machine's registry mirror answers the
 * bulk advisory endpoint with 405), fatal only when RETAILFLOW_AUDIT_REQUIRED=true.
 */
export type AuditVerdict =
  | { kind: 'clean'; counts: Record<string, number> }
  | { kind: 'findings'; counts: Record<string, number>; packages: string[] }
  | { kind: 'unreachable'; reason: string };

interface AuditJson {
  error?: { code?: string; summary?: string; detail?: string };
  message?: string;
  metadata?: { vulnerabilities?: Record<string, number> };
  vulnerabilities?: Record<string, { severity?: string }>;
}

const BLOCKING = ['high', 'critical'];

export function judgeAudit(stdout: string): AuditVerdict {
  let report: AuditJson;
  try {
    report = JSON.parse(stdout) as AuditJson;
  } catch {
    return { kind: 'unreachable', reason: `npm audit printed no report (${stdout.trim().split('\n')[0]?.slice(0, 200) || 'nothing'})` };
  }
  const counts = report.metadata?.vulnerabilities;
  if (!counts) {
    const e = report.error;
    return { kind: 'unreachable', reason: [e?.code, e?.summary || report.message].filter(Boolean).join(': ') || 'no vulnerability counts in the report' };
  }
  const packages = Object.entries(report.vulnerabilities ?? {})
    .filter(([, v]) => BLOCKING.includes(v.severity ?? ''))
    .map(([name, v]) => `${name} (${v.severity})`);
  const blocking = BLOCKING.reduce((n, s) => n + (counts[s] ?? 0), 0);
  return blocking > 0 ? { kind: 'findings', counts, packages } : { kind: 'clean', counts };
}
