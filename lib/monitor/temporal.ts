/**
 * Rows about Temporal, from plain facts (no client here: clients/monitor.ts asks the server and
 * calls these): the frontend, each task queue's pollers as the server sees them, each Schedule.
 */
import { errorLine, fail, isoSeconds, ok, relativeTime, warn, type MonitorRow } from './rows';

export const FRONTEND_PART = 'temporal frontend';
export type TaskQueueKind = 'workflow' | 'activity';
export const taskQueuePart = (taskQueue: string, kind: TaskQueueKind): string => `task queue ${taskQueue}/${kind}`;
export const schedulePart = (id: string): string => `schedule ${id}`;

/**
 * A worker long-polls (the server answers an idle poll after about a minute and the worker polls
 * again at once), so a live poller was seen within the last minute or so. The server keeps
 * listing a poller for minutes after it went away: only one seen within this long counts.
 */
export const POLLER_FRESH_MS = 2 * 60_000;

export interface FrontendFacts {
  serverVersion: string | undefined;
  /** Round trip of GetSystemInfo. */
  latencyMs: number;
  /** The namespace's state name (e.g. NAMESPACE_STATE_REGISTERED), or undefined when it does not exist. */
  namespaceState: string | undefined;
}

export function frontendRow(address: string, namespace: string, facts: FrontendFacts | Error): MonitorRow {
  if (facts instanceof Error) {
    const line = errorLine(facts);
    return fail(FRONTEND_PART, line.includes(address) ? line : `${address}: ${line}`, { address });
  }
  const data = { address, namespace, ...facts };
  const server = `${address}, server ${facts.serverVersion || '?'} (${facts.latencyMs} ms)`;
  if (!facts.namespaceState) return fail(FRONTEND_PART, `${server}; namespace ${namespace} does not exist`, data);
  if (!/REGISTERED/.test(facts.namespaceState)) return warn(FRONTEND_PART, `${server}; namespace ${namespace} is ${facts.namespaceState}`, data);
  return ok(FRONTEND_PART, `${server}; namespace ${namespace}`, data);
}

export interface PollerFact {
  identity: string;
  lastAccessTime: Date | undefined;
}

/** OK: at least one poller seen within POLLER_FRESH_MS. FAIL: none (no worker is polling this queue). */
export function taskQueueRow(taskQueue: string, kind: TaskQueueKind, pollers: readonly PollerFact[] | Error, now: Date): MonitorRow {
  const part = taskQueuePart(taskQueue, kind);
  if (pollers instanceof Error) return fail(part, errorLine(pollers));
  const fresh = pollers.filter((p) => p.lastAccessTime && now.getTime() - p.lastAccessTime.getTime() <= POLLER_FRESH_MS);
  const newest = pollers.map((p) => p.lastAccessTime).filter((t): t is Date => t !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];
  const data = {
    pollers: pollers.map((p) => ({ identity: p.identity, lastAccessTime: p.lastAccessTime?.toISOString() ?? null })),
    freshPollers: fresh.length,
  };
  if (fresh.length === 0) {
    const why = pollers.length === 0 ? 'no pollers: no worker polls this queue' : `no poll for ${newest ? relativeTime(newest, now).replace(/ ago$/, '') : 'a while'} (last: ${pollers.map((p) => p.identity).join(', ')})`;
    return fail(part, why, data);
  }
  const names = fresh.map((p) => p.identity).join(', ');
  return ok(part, `${fresh.length} poller${fresh.length > 1 ? 's' : ''} (${names}), last poll ${newest ? relativeTime(newest, now) : '?'}`, data);
}

export interface ScheduleFacts {
  paused: boolean;
  note: string | undefined;
  nextRun: Date | undefined;
  /** Runs of it still open. */
  running: number;
  /** The most recent action and how its workflow run ended so far. */
  last:
    | {
        scheduledAt: Date;
        workflowId: string;
        /** Workflow execution status name: RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED, CANCELLED, CONTINUED_AS_NEW; undefined if unknown. */
        status: string | undefined;
        /** A completed run's `outcome` field, when its result has one (e.g. "no-data"). */
        outcome: string | undefined;
      }
    | undefined;
}

/**
 * OK: scheduled, its last run completed or running (or none yet). WARN: paused, no next run, not
 * found (npm start creates the platform Schedules unless --no-schedules), a last run terminated or
 * cancelled. FAIL: its last run failed or timed out.
 */
export function scheduleRow(id: string, facts: ScheduleFacts | 'not-found' | Error, now: Date): MonitorRow {
  const part = schedulePart(id);
  if (facts instanceof Error) return fail(part, errorLine(facts));
  if (facts === 'not-found') return warn(part, 'not found (npm start creates it unless --no-schedules)', { exists: false });
  const next = facts.paused
    ? `paused${facts.note ? ` (${facts.note})` : ''}`
    : facts.nextRun
      ? `next ${isoSeconds(facts.nextRun)} (${relativeTime(facts.nextRun, now)})`
      : 'no next run';
  const last = facts.last
    ? `last ${isoSeconds(facts.last.scheduledAt)} ${(facts.last.status ?? 'unknown').toLowerCase()}${facts.last.outcome ? ` (${facts.last.outcome})` : ''}`
    : 'no run yet';
  const detail = `${next}; ${last}${facts.running > 0 ? `; ${facts.running} running` : ''}`;
  const data = {
    exists: true,
    paused: facts.paused,
    nextRun: facts.nextRun?.toISOString() ?? null,
    running: facts.running,
    last: facts.last ? { ...facts.last, scheduledAt: facts.last.scheduledAt.toISOString() } : null,
  };
  const status = facts.last?.status;
  if (status === 'FAILED' || status === 'TIMED_OUT') return fail(part, `${detail}: see ${facts.last?.workflowId} in the Web UI`, data);
  if (facts.paused || !facts.nextRun || status === 'TERMINATED' || status === 'CANCELLED') return warn(part, detail, data);
  return ok(part, detail, data);
}
