/**
 * Rows about the machine and the supervised processes: host load and memory (os), the stack
 * (RUN_DIR/stack.json, lib/process/status.ts) and one row per part with its state, restarts and
 * resident memory (VmRSS in /proc/<pid>/status).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { isPidAlive } from '../process/groups';
import { readStackStatus, type ChildStatus, type StackStatus } from '../process/status';
import { bytes, errorLine, fail, ok, relativeTime, warn, type Check, type MonitorRow } from './rows';

export const HOST_PART = 'host';
export const STACK_PART = 'stack';
export const processPart = (name: string): string => `process ${name}`;

/** The parts `npm start` runs, in start order (scripts/stack.ts): a row each even when stack.json is missing. */
export const STACK_PARTS = ['temporal', 'pubsub-emulator', 'worker', 'api', 'consumer'] as const;

/** A restart this recent makes the part's row a WARN (it healed, but someone should look). */
export const RECENT_RESTART_MS = 10 * 60_000;

// ---- host ---------------------------------------------------------------------------------------

export interface HostFacts {
  loadavg: number[];
  cpus: number;
  totalMem: number;
  /** Memory available to new processes (Node reads MemAvailable on Linux). */
  freeMem: number;
}

export function hostFacts(): HostFacts {
  return { loadavg: os.loadavg(), cpus: os.availableParallelism?.() ?? os.cpus().length, totalMem: os.totalmem(), freeMem: os.freemem() };
}

/** WARN when the 1-minute load exceeds twice the cores, or less than 10 % of memory is available. Never FAIL. */
export function hostRow(h: HostFacts): MonitorRow {
  const used = h.totalMem - h.freeMem;
  const usedShare = h.totalMem > 0 ? used / h.totalMem : 0;
  const detail =
    `load ${h.loadavg.map((l) => l.toFixed(2)).join(' ')} (${h.cpus} cores); ` +
    `memory ${bytes(used)} of ${bytes(h.totalMem)} used (${Math.round(usedShare * 100)} %), ${bytes(h.freeMem)} available`;
  const data = { loadavg: h.loadavg, cpus: h.cpus, totalMemBytes: h.totalMem, availableMemBytes: h.freeMem };
  const problems = [h.loadavg[0] > 2 * h.cpus ? 'overloaded' : '', usedShare > 0.9 ? 'low on memory' : ''].filter(Boolean);
  return problems.length > 0 ? warn(HOST_PART, `${problems.join(', ')}: ${detail}`, data) : ok(HOST_PART, detail, data);
}

export function hostCheck(): Check {
  return { parts: [HOST_PART], run: () => Promise.resolve([hostRow(hostFacts())]) };
}

// ---- the stack and its processes ----------------------------------------------------------------

/** Resident set size of `pid` in bytes (Linux /proc/<pid>/status VmRSS); undefined when not readable. */
export function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ProcessProbe {
  alive: (pid: number) => boolean;
  rss: (pid: number) => number | undefined;
}

const REAL_PROCESSES: ProcessProbe = { alive: isPidAlive, rss: rssOf };

/**
 * The stack row and one row per part. No status file: nothing runs (`npm start`), FAIL. The
 * stack's pid not alive: a stale file (the stack was killed), FAIL.
 * A part: ready OK (WARN when it restarted within RECENT_RESTART_MS); starting or restarting WARN;
 * crashed (a crash loop, left down) FAIL; stopped WARN (the stack is stopping); ready but its pid
 * gone FAIL.
 */
export function stackRows(statusFile: string, status: StackStatus | undefined | Error, now: Date, probe: ProcessProbe = REAL_PROCESSES): MonitorRow[] {
  if (status instanceof Error) return [fail(STACK_PART, `${statusFile}: ${errorLine(status)}`), ...STACK_PARTS.map((p) => fail(processPart(p), 'no stack status'))];
  if (!status) {
    const why = `no stack running: ${statusFile} is missing (npm start writes it)`;
    return [fail(STACK_PART, why), ...STACK_PARTS.map((p) => fail(processPart(p), 'no stack running'))];
  }
  const alive = probe.alive(status.pid);
  const restarts = status.parts.reduce((sum, p) => sum + p.restarts, 0);
  const stackData = { pid: status.pid, state: status.state, startedAt: status.startedAt, restarts, statusFile };
  const stackDetail = `${status.state}, pid ${status.pid}, started ${relativeTime(new Date(status.startedAt), now)}; ${restarts} restarts in all`;
  const stackRow = !alive
    ? fail(STACK_PART, `stale ${statusFile}: the stack (pid ${status.pid}) is not running`, stackData)
    : status.state === 'up'
      ? ok(STACK_PART, stackDetail, stackData)
      : warn(STACK_PART, stackDetail, stackData);
  const known = new Set(status.parts.map((p) => p.name));
  const missing = STACK_PARTS.filter((name) => !known.has(name)).map((name) => fail(processPart(name), `not in ${statusFile}`));
  return [stackRow, ...status.parts.map((part) => partRow(part, now, probe, alive)), ...missing];
}

export function partRow(part: ChildStatus, now: Date, probe: ProcessProbe, stackAlive = true): MonitorRow {
  const name = processPart(part.name);
  const rss = part.pid !== null && probe.alive(part.pid) ? probe.rss(part.pid) : undefined;
  const lastExitAt = part.lastExit ? new Date(part.lastExit.at) : undefined;
  const restartText =
    part.restarts === 0
      ? 'no restarts'
      : `${part.restarts} restart${part.restarts > 1 ? 's' : ''}` +
        `${lastExitAt ? `, last exit ${relativeTime(lastExitAt, now)}` : ''}${part.lastRestartReason ? ` (${part.lastRestartReason})` : ''}`;
  const detail = `${part.state}${part.pid !== null ? `, pid ${part.pid}` : ''}${rss !== undefined ? `, RSS ${bytes(rss)}` : ''}; ${restartText}`;
  const data = { state: part.state, pid: part.pid, rssBytes: rss ?? null, restarts: part.restarts, lastExit: part.lastExit, lastRestartReason: part.lastRestartReason };
  if (!stackAlive) return fail(name, `stack not running (last known: ${detail})`, data);
  switch (part.state) {
    case 'crashed':
      return fail(name, `${detail}; left down after a crash loop, see ${part.logPath}`, data);
    case 'starting':
    case 'restarting':
    case 'stopped':
      return warn(name, detail, data);
    case 'ready':
      if (part.pid === null || !probe.alive(part.pid)) return fail(name, `${detail}; but the process is gone`, data);
      if (lastExitAt && now.getTime() - lastExitAt.getTime() < RECENT_RESTART_MS) return warn(name, detail, data);
      return ok(name, detail, data);
  }
}

export function stackCheck(statusFile: string, now: () => Date): Check {
  return {
    parts: [STACK_PART, ...STACK_PARTS.map(processPart)],
    run: () => {
      let status: StackStatus | undefined | Error;
      try {
        status = readStackStatus(statusFile);
      } catch (err) {
        status = err instanceof Error ? err : new Error(String(err));
      }
      return Promise.resolve(stackRows(statusFile, status, now()));
    },
  };
}
