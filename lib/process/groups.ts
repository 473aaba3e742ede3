/**
 * Process and process-group liveness and signalling (POSIX).
 *
 * A zombie (exited, not yet reaped by its parent) still answers `kill(pid, 0)`. Orphaned grandchildren
 * are reaped by PID 1, which in some containers never happens, so on Linux we read /proc and treat
 * zombies as dead; elsewhere we fall back to `kill(…, 0)`.
 */
import * as fs from 'node:fs';

/** Send `signal` to every process in group `pgid`; returns false if the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ESRCH') return false;
    throw err;
  }
}

/** True while process `pid` exists and is not a zombie. */
export function isPidAlive(pid: number): boolean {
  if (!kill0(pid)) return false;
  if (process.platform !== 'linux') return true;
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** True while any non-zombie process is in group `pgid`. */
export function isGroupAlive(pgid: number): boolean {
  if (!kill0(-pgid)) return false;
  if (process.platform !== 'linux') return true;
  return livingGroupMembers(pgid).length > 0;
}

/** PIDs of the non-zombie processes in group `pgid` (Linux only; empty elsewhere). */
export function livingGroupMembers(pgid: number): number[] {
  if (process.platform !== 'linux') return [];
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

function kill0(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) === 'EPERM';
  }
}

interface ProcStat {
  state: string;
  pgrp: number;
}

function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone between readdir and read
  }
  // Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], pgrp: Number(fields[2]) };
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
