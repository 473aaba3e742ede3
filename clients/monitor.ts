/**
 * The monitor's Temporal checks (`retailflow monitor`): the frontend (GetSystemInfo and the
 * namespace), each task queue's pollers as the SERVER sees them (DescribeTaskQueue, workflow and
 * activity), and each platform Schedule's next run and last result. One connection for all of
 * them per monitor run; the rows come from the pure functions in lib/monitor/temporal.ts.
 */
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Check } from '../lib/monitor/rows';
import {
  FRONTEND_PART,
  frontendRow,
  scheduleRow,
  schedulePart,
  taskQueuePart,
  taskQueueRow,
  type FrontendFacts,
  type PollerFact,
  type ScheduleFacts,
  type TaskQueueKind,
} from '../lib/monitor/temporal';
import { ScheduleId } from '../lib/temporal/contract';
import { temporalConnectionOptions, type TemporalSecurity } from '../lib/temporal/connection-options';

const { TaskQueueType, TaskQueueKind: Kind, NamespaceState } = temporal.api.enums.v1;

/** google.rpc.Code NOT_FOUND. */
const NOT_FOUND = 5;

/** The Schedules `npm start` keeps (clients/platform-schedules.ts). */
export const PLATFORM_SCHEDULE_IDS: readonly string[] = Object.values(ScheduleId);

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  scheduleIds?: readonly string[];
  /** TLS / API key (config.temporal.security); plaintext when absent. */
  security?: TemporalSecurity;
}

export interface TemporalChecks {
  checks: Check[];
  /** Closes the connection (also one that is still connecting). */
  close(): Promise<void>;
}

export function temporalChecks(target: TemporalTarget, timeoutMs: number, now: () => Date): TemporalChecks {
  let connecting: Promise<Connection> | undefined;
  // Connecting gets three quarters of a check's time, so that a server that is not there reads
  // "not reachable" rather than "timed out".
  const connectTimeout = Math.max(100, Math.round(timeoutMs * 0.75));
  const connection = (): Promise<Connection> =>
    (connecting ??= Connection.connect({ ...temporalConnectionOptions(target.address, target.security ?? { tls: false }), connectTimeout }).catch((err: unknown) => {
      throw new Error(`Temporal not reachable at ${target.address} (${(err as Error)?.message ?? String(err)})`);
    }));
  const client = async (): Promise<{ conn: Connection; client: Client }> => {
    const conn = await connection();
    return { conn, client: new Client({ connection: conn, namespace: target.namespace }) };
  };
  const { namespace, taskQueue } = target;

  const frontend: Check = {
    parts: [FRONTEND_PART],
    run: async (signal) => {
      let facts: FrontendFacts | Error;
      try {
        const conn = await connection();
        facts = await conn.withAbortSignal(signal, async () => {
          const began = performance.now();
          const info = await conn.workflowService.getSystemInfo({});
          const latencyMs = Math.round(performance.now() - began);
          let namespaceState: string | undefined;
          try {
            const ns = await conn.workflowService.describeNamespace({ namespace });
            namespaceState = NamespaceState[ns.namespaceInfo?.state ?? 0];
          } catch (err) {
            if ((err as { code?: unknown }).code !== NOT_FOUND) throw err;
          }
          return { serverVersion: info.serverVersion ?? undefined, latencyMs, namespaceState };
        });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        facts = err instanceof Error ? err : new Error(String(err));
      }
      return [frontendRow(target.address, namespace, facts)];
    },
  };

  const kinds: Array<[TaskQueueKind, temporal.api.enums.v1.TaskQueueType]> = [
    ['workflow', TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
    ['activity', TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
  ];
  const taskQueues: Check = {
    parts: kinds.map(([kind]) => taskQueuePart(taskQueue, kind)),
    run: async (signal) => {
      const conn = await connection();
      const pollers = await Promise.all(
        kinds.map(async ([, taskQueueType]): Promise<PollerFact[] | Error> => {
          try {
            const res = await conn.withAbortSignal(signal, () =>
              conn.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL }, taskQueueType }),
            );
            return (res.pollers ?? []).map((p) => {
              const ms = optionalTsToMs(p.lastAccessTime);
              return { identity: p.identity ?? '?', lastAccessTime: ms === undefined ? undefined : new Date(ms) };
            });
          } catch (err) {
            if (signal.aborted) throw signal.reason;
            return err instanceof Error ? err : new Error(String(err));
          }
        }),
      );
      return kinds.map(([kind], i) => taskQueueRow(taskQueue, kind, pollers[i], now()));
    },
  };

  // One check per Schedule: a slow one times out alone.
  const schedules: Check[] = (target.scheduleIds ?? PLATFORM_SCHEDULE_IDS).map((id) => ({
    parts: [schedulePart(id)],
    run: async (signal) => {
      const { conn, client: c } = await client();
      let facts: ScheduleFacts | 'not-found' | Error;
      try {
        facts = await conn.withAbortSignal(signal, () => scheduleFacts(c, id));
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        facts = err instanceof ScheduleNotFoundError ? 'not-found' : err instanceof Error ? err : new Error(String(err));
      }
      return [scheduleRow(id, facts, now())];
    },
  }));

  return {
    checks: [frontend, taskQueues, ...schedules],
    close: async () => {
      if (!connecting) return;
      const pending = connecting;
      connecting = undefined;
      // A connection still being made is closed once it is there; a failed one has nothing to close.
      await pending.then((conn) => conn.close(), () => undefined);
    },
  };
}

async function scheduleFacts(client: Client, id: string): Promise<ScheduleFacts> {
  const d = await client.schedule.getHandle(id).describe();
  const action = d.info.recentActions.at(-1);
  let last: ScheduleFacts['last'];
  if (action) {
    const workflowId = action.action.workflow.workflowId;
    let status: string | undefined;
    let outcome: string | undefined;
    try {
      const handle = client.workflow.getHandle(workflowId);
      status = (await handle.describe()).status.name;
      if (status === 'COMPLETED') {
        const result: unknown = await handle.result();
        const o = (result as { outcome?: unknown } | null)?.outcome;
        if (typeof o === 'string') outcome = o;
      }
    } catch (err) {
      // Its history may be gone (retention): the Schedule's own facts still stand.
      if ((err as { name?: string }).name !== 'WorkflowNotFoundError') throw err;
    }
    last = { scheduledAt: action.scheduledAt, workflowId, status, outcome };
  }
  return { paused: d.state.paused, note: d.state.note, nextRun: d.info.nextActionTimes[0], running: d.info.runningActions.length, last };
}
