/**
 * `retailflow monitor`: one row per part of the platform, each with a status (ok, warn, fail) and
 * a one-line detail. A check measures one part (or a few related ones) and returns its rows; the
 * checks run in parallel, each bounded in time, and a check that throws or times out reports each
 * of its rows as FAIL with the reason. Pure apart from the timers: the checks themselves are in
 * the sibling modules (lib/monitor/*.ts) and, for Temporal, in clients/monitor.ts.
 */

export type RowStatus = 'ok' | 'warn' | 'fail';

export interface MonitorRow {
  /** What the row is about, e.g. "api" or "task queue retailflow/workflow"; unique in a report. */
  part: string;
  status: RowStatus;
  /** One line for a person. */
  detail: string;
  /** The measured values, for --json (numbers, ISO times, names). */
  data?: Record<string, unknown>;
}

export interface Check {
  /** The rows this check reports, in order: each becomes a FAIL row when the check throws or times out. */
  parts: readonly string[];
  /** `signal` aborts when the check's time is up; a check should pass it on to its I/O. */
  run(signal: AbortSignal): Promise<MonitorRow[]>;
  /**
   * Run after every other check has finished (its own time limit starts then). For a check that
   * would otherwise compete with the others for one resource and slow down what they measure:
   * the DuckDB file's lock, which the consumer's /stats and the API's /health take too.
   */
  last?: boolean;
}

export interface MonitorReport {
  /** ISO time the checks started. */
  time: string;
  status: RowStatus;
  durationMs: number;
  rows: MonitorRow[];
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export const ok = (part: string, detail: string, data?: Record<string, unknown>): MonitorRow => ({ part, status: 'ok', detail, ...(data ? { data } : {}) });
export const warn = (part: string, detail: string, data?: Record<string, unknown>): MonitorRow => ({ part, status: 'warn', detail, ...(data ? { data } : {}) });
export const fail = (part: string, detail: string, data?: Record<string, unknown>): MonitorRow => ({ part, status: 'fail', detail, ...(data ? { data } : {}) });

/** "2 s", "0.5 s": a duration in seconds as a person writes it. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

export class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${seconds(timeoutMs)}`);
  }
}

/** Run one check within `timeoutMs`: its rows, or a FAIL row per declared part saying why. */
export async function runCheck(check: Check, timeoutMs: number): Promise<MonitorRow[]> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CheckTimeoutError(timeoutMs);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  let running: Promise<MonitorRow[]>;
  try {
    running = check.run(controller.signal);
  } catch (err) {
    running = Promise.reject(err);
  }
  running.catch(() => undefined); // the loser of the race may still reject later
  try {
    const rows = await Promise.race([running, timedOut]);
    return rows.length > 0 ? rows : check.parts.map((part) => fail(part, 'the check returned nothing'));
  } catch (err) {
    const why = err instanceof CheckTimeoutError ? err.message : errorLine(err);
    return check.parts.map((part) => fail(part, why));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every check at once, each within `timeoutMs`, then the ones marked `last` (so the whole run
 * takes at most twice `timeoutMs`); rows in the order of the checks.
 */
export async function runChecks(checks: readonly Check[], timeoutMs = DEFAULT_CHECK_TIMEOUT_MS, now: () => Date = () => new Date()): Promise<MonitorReport> {
  const started = now();
  const began = performance.now();
  const results = new Map<Check, MonitorRow[]>();
  const runAll = async (group: readonly Check[]): Promise<void> => {
    await Promise.all(group.map(async (check) => results.set(check, await runCheck(check, timeoutMs))));
  };
  await runAll(checks.filter((c) => !c.last));
  await runAll(checks.filter((c) => c.last));
  const rows = checks.flatMap((check) => results.get(check) ?? []);
  return { time: started.toISOString(), status: overallStatus(rows), durationMs: Math.round(performance.now() - began), rows };
}

export function overallStatus(rows: readonly MonitorRow[]): RowStatus {
  if (rows.some((r) => r.status === 'fail')) return 'fail';
  if (rows.some((r) => r.status === 'warn')) return 'warn';
  return 'ok';
}

/** 1 when a row failed; a WARN row does not fail the command. */
export function exitCodeOf(report: MonitorReport): number {
  return report.status === 'fail' ? 1 : 0;
}

const LABEL: Record<RowStatus, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL' };

/** The table people read: PART, STATUS, DETAIL, padded; a header line with the overall status. */
export function renderTable(report: MonitorReport): string {
  const width = Math.max('PART'.length, ...report.rows.map((r) => r.part.length));
  const line = (part: string, status: string, detail: string): string => `${part.padEnd(width)}  ${status.padEnd(6)}  ${detail}`.trimEnd();
  const counts = (['fail', 'warn'] as const).map((s) => [s, report.rows.filter((r) => r.status === s).length] as const).filter(([, n]) => n > 0);
  const summary = counts.length > 0 ? counts.map(([s, n]) => `${n} ${LABEL[s]}`).join(', ') : 'all OK';
  return [
    `retailflow monitor  ${report.time}  ${LABEL[report.status]} (${summary}; ${report.rows.length} rows in ${seconds(report.durationMs)})`,
    line('PART', 'STATUS', 'DETAIL'),
    ...report.rows.map((r) => line(r.part, LABEL[r.status], r.detail)),
  ].join('\n');
}

/** One line of the monitoring log (RUN_DIR/monitor.log): when, overall, each row's status, and why for the others. */
export function logRecord(report: MonitorReport): Record<string, unknown> {
  const rows = Object.fromEntries(report.rows.map((r) => [r.part, r.status]));
  const problems = Object.fromEntries(report.rows.filter((r) => r.status !== 'ok').map((r) => [r.part, r.detail]));
  return { time: report.time, status: report.status, durationMs: report.durationMs, rows, ...(Object.keys(problems).length > 0 ? { problems } : {}) };
}

/** An error as one short line: Node's "fetch failed" and gRPC errors hide the useful part in `cause` or `details`. */
export function errorLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  let message = err.message;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') message = 'connection refused';
    else if (code) message = `${code} (${cause.message})`;
    else if (message === 'fetch failed') message = cause.message;
  }
  message = message.split('\n')[0];
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/** "just now", "42 s ago", "5 min ago", "3 h 5 min ago", "2 d ago"; "in …" for the future. */
export function relativeTime(then: Date, now: Date): string {
  const ms = then.getTime() - now.getTime();
  const span = duration(Math.abs(ms));
  if (span === undefined) return 'just now';
  return ms > 0 ? `in ${span}` : `${span} ago`;
}

function duration(ms: number): string | undefined {
  const s = Math.round(ms / 1000);
  if (s < 1) return undefined;
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

/** "1,234,567". */
export const count = (n: number): string => n.toLocaleString('en-US');

/** "12.3 MiB", "1.5 GiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A short ISO time without milliseconds: "2011-12-09T12:50:00Z". */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
