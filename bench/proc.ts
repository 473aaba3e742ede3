/** Process facts the benches report. */
import * as fs from 'node:fs';

/** The resident set of a process in MB (Linux /proc), NaN once it has exited. */
export function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}
