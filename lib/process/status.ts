/**
 * The status of supervised processes, as the supervisor keeps it and as `npm start` publishes it in
 * RUN_DIR/stack.json for other tools (a monitor command, tests). The file is rewritten atomically
 * (temp file + rename) on every change, so a reader never sees half of it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * starting:   first start, waiting for its readiness probes
 * ready:      probes passed; an exit from here on is unexpected
 * restarting: exited (or its dependency restarted); waiting out the backoff or for its probes again
 * crashed:    exited and will not be restarted (no restart policy, or a crash loop)
 * stopped:    stopped on purpose (the supervisor is stopping)
 */
export type ChildState = 'starting' | 'ready' | 'restarting' | 'crashed' | 'stopped';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** ISO time of the exit. */
  at: string;
  /** Set when it was not a plain exit, e.g. "not ready within 60 s" or "could not be spawned". */
  reason?: string;
}

export interface ChildStatus {
  name: string;
  /** Also its process group id; null while no process runs (backoff, crashed, stopped). */
  pid: number | null;
  state: ChildState;
  /** Processes started after the first one (restarts after an exit and with a dependency). */
  restarts: number;
  lastExit: ChildExit | null;
  /** Why it was restarted the last time, e.g. "exited on signal SIGKILL" or "pubsub-emulator restarted". */
  lastRestartReason: string | null;
  /** ISO time it entered its current state. */
  since: string;
  logPath: string;
}

/** RUN_DIR/stack.json while `npm start` runs; removed on a clean stop. */
export interface StackStatus {
  /** The stack script's own pid (signal it to stop everything). */
  pid: number;
  /** ISO time the stack started. */
  startedAt: string;
  /** ISO time of the last change. */
  updatedAt: string;
  /** starting until every part was ready once, then up; stopping after a signal. */
  state: 'starting' | 'up' | 'stopping';
  endpoints: StackEndpoints;
  /** In start order. */
  parts: ChildStatus[];
}

export interface StackEndpoints {
  temporalGrpc: string;
  temporalUi: string;
  pubsubEmulator: string;
  api: string;
  apiDocs: string;
  workerMetrics: string;
  workerHealth: string;
  consumerHealth: string;
  consumerMetrics: string;
  /** Directory of the logs (`<name>.log`, rotated as `<name>.log.1` …). */
  logs: string;
}

/** Write `value` as JSON so that readers see the old or the new file, never a partial one. */
export function writeJsonAtomic(filePath: string, value: unknown): void {
  const temp = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temp, filePath);
}

export function writeStackStatus(filePath: string, status: StackStatus): void {
  writeJsonAtomic(filePath, status);
}

/** The status file's content, or undefined when no stack runs (no file). */
export function readStackStatus(filePath: string): StackStatus | undefined {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<StackStatus>;
  if (!Array.isArray(parsed.parts) || typeof parsed.pid !== 'number') {
    throw new Error(`${filePath} is not a stack status file (no "parts" list or "pid")`);
  }
  return parsed as StackStatus;
}
