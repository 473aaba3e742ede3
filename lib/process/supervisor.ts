/**
 * Starts long-running child processes, waits until they are ready, and stops them cleanly.
 *
 * - Each child runs in its own process group (`detached: true`), so a stop signal reaches its
 *   grandchildren too (JVM wrappers, shells), and a terminal's Ctrl-C reaches only us: we decide
 *   the stop order.
 * - stdout and stderr are appended to `<logDir>/<name>.log`; probes and error messages only look at
 *   what this run wrote (from the offset at start), not at earlier runs.
 * - Stop is in reverse start order: SIGTERM to the group, SIGKILL after the grace period.
 * - A child that dies on its own is reported (name, exit code, log path, log tail) and the rest are
 *   stopped; `crashed` then resolves with the report.
 *
 * Generic on purpose: used by `scripts/stack.ts` and by test hooks that start emulators.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isGroupAlive, signalGroup } from './groups';
import { describeProbe, logTail, probeOnce, type ReadinessProbe } from './probes';

export { freePort, isPortFree, parseHostPort, type HostPort } from './ports';
export { canConnect, httpStatus, type ReadinessProbe } from './probes';
export { isGroupAlive, isPidAlive, livingGroupMembers, signalGroup } from './groups';

export interface ChildSpec {
  /** Short unique name; also the log file name. */
  name: string;
  command: string;
  args?: readonly string[];
  /** Full environment for the child (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** All must pass before `start` resolves; none means "started is ready". */
  readiness?: readonly ReadinessProbe[];
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL; default is the supervisor's. */
  stopGraceMs?: number;
}

export interface ChildInfo {
  name: string;
  /** Also the process group id. */
  pid: number;
  logPath: string;
}

export interface ExitReport extends ChildInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  logTail: string[];
}

export interface SupervisorOptions {
  logDir: string;
  /** Default 10 s. */
  stopGraceMs?: number;
  /** Lines of log shown in errors and crash reports; default 20. */
  tailLines?: number;
  /** Where crash reports go; default stderr. */
  report?: (message: string) => void;
}

/** `start` failed: the child exited or did not become ready in time. Its log tail is in the message. */
export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
  constructor(
    message: string,
    readonly child: ChildInfo,
    readonly logTail: string[],
  ) {
    super(message);
  }
}

interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Running {
  spec: ChildSpec;
  info: ChildInfo;
  logOffset: number;
  exited: Promise<ExitStatus>;
  exitStatus?: ExitStatus;
  /** Set once its probes passed: from then on an exit is a crash, before it start() reports it. */
  ready: boolean;
}

const POLL_MS = 150;
const KILL_WAIT_MS = 5_000;

export class Supervisor {
  /** Resolves once after a child died unexpectedly and the others were stopped. */
  readonly crashed: Promise<ExitReport>;
  private resolveCrashed!: (report: ExitReport) => void;
  private readonly running: Running[] = [];
  private stopping: Promise<void> | undefined;
  private readonly killAllOnExit = (): void => this.killNow();

  constructor(private readonly options: SupervisorOptions) {
    this.crashed = new Promise((resolve) => (this.resolveCrashed = resolve));
    fs.mkdirSync(options.logDir, { recursive: true });
    // Last resort if this process exits without stop() (uncaught error): no orphans left behind.
    process.once('exit', this.killAllOnExit);
  }

  get children(): readonly ChildInfo[] {
    return this.running.map((child) => child.info);
  }

  /** Spawn the child and wait for its readiness probes. On failure the child is already stopped. */
  async start(spec: ChildSpec): Promise<ChildInfo> {
    if (this.stopping) throw new Error(`cannot start ${spec.name}: the supervisor is stopping`);
    if (this.running.some((child) => child.spec.name === spec.name)) {
      throw new Error(`a child named ${spec.name} is already running`);
    }
    const child = this.spawnChild(spec);
    this.running.push(child);
    try {
      await this.waitUntilReady(child);
    } catch (err) {
      await this.stopChild(child);
      this.forget(child);
      throw err;
    }
    child.ready = true;
    return child.info;
  }

  /** Stop all children in reverse start order. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** SIGKILL every child group now (synchronous; for a second Ctrl-C or process exit). */
  killNow(): void {
    for (const child of this.running) signalGroup(child.info.pid, 'SIGKILL');
  }

  private spawnChild(spec: ChildSpec): Running {
    const logPath = path.join(this.options.logDir, `${spec.name}.log`);
    const command = [spec.command, ...(spec.args ?? [])].join(' ');
    fs.appendFileSync(logPath, `\n===== ${new Date().toISOString()} starting ${spec.name}: ${command}\n`);
    const logOffset = fs.statSync(logPath).size;
    const fd = fs.openSync(logPath, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(spec.command, [...(spec.args ?? [])], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd); // the child holds its own copy
    }
    const exited = exitOf(proc); // listen first: a spawn failure emits 'error' right after this tick
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`could not start ${spec.name}: "${spec.command}" failed to spawn`);
    const child: Running = { spec, info: { name: spec.name, pid, logPath }, logOffset, exited, ready: false };
    void exited.then((status) => this.onExit(child, status));
    return child;
  }

  private async waitUntilReady(child: Running): Promise<void> {
    const probes = child.spec.readiness ?? [];
    const timeoutMs = child.spec.readyTimeoutMs ?? 60_000;
    const pending = new Set(probes);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitStatus) {
        throw this.startError(child, `${child.info.name} exited ${describeExit(child.exitStatus)} before it was ready`);
      }
      const context = { logPath: child.info.logPath, logOffset: child.logOffset };
      for (const probe of [...pending]) {
        if (await probeOnce(probe, context)) pending.delete(probe);
      }
      if (pending.size === 0 && !child.exitStatus) return;
      if (Date.now() > deadline) {
        const waitingFor = [...pending].map(describeProbe).join('; ');
        const headline = `${child.info.name} was not ready within ${timeoutMs / 1000} s (waiting for: ${waitingFor})`;
        throw this.startError(child, headline);
      }
      await sleep(POLL_MS);
    }
  }

  private startError(child: Running, headline: string): ChildStartError {
    const tail = this.tailOf(child);
    return new ChildStartError(`${headline}\n${formatTail(child.info.logPath, tail)}`, child.info, tail);
  }

  private onExit(child: Running, status: ExitStatus): void {
    child.exitStatus = status;
    if (this.stopping || !child.ready || !this.running.includes(child)) return;
    const report: ExitReport = { ...child.info, ...status, logTail: this.tailOf(child) };
    const write = this.options.report ?? ((message: string) => process.stderr.write(`${message}\n`));
    const headline = `${child.info.name} (pid ${child.info.pid}) exited unexpectedly ${describeExit(status)}; stopping the rest.`;
    write(`${headline}\n${formatTail(child.info.logPath, report.logTail)}`);
    void this.stop().then(() => this.resolveCrashed(report));
  }

  private async stopAll(): Promise<void> {
    for (const child of [...this.running].reverse()) {
      await this.stopChild(child);
    }
    process.removeListener('exit', this.killAllOnExit);
  }

  /** SIGTERM the group, wait for every member to go (not just the leader), then SIGKILL. */
  private async stopChild(child: Running): Promise<void> {
    const pgid = child.info.pid;
    const graceMs = child.spec.stopGraceMs ?? this.options.stopGraceMs ?? 10_000;
    if (signalGroup(pgid, 'SIGTERM') && !(await waitUntil(() => !isGroupAlive(pgid), graceMs))) {
      signalGroup(pgid, 'SIGKILL');
      await waitUntil(() => !isGroupAlive(pgid), KILL_WAIT_MS);
    }
    // The leader's exit event can trail the group's disappearance by a tick; wait so status is recorded.
    await Promise.race([child.exited, sleep(KILL_WAIT_MS)]);
  }

  private forget(child: Running): void {
    const index = this.running.indexOf(child);
    if (index >= 0) this.running.splice(index, 1);
  }

  private tailOf(child: Running): string[] {
    return logTail(child.info.logPath, child.logOffset, this.options.tailLines ?? 20);
  }
}

function exitOf(proc: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    // A spawn failure (ENOENT) emits 'error' and may never emit 'exit'.
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
}

function describeExit({ code, signal }: ExitStatus): string {
  if (signal) return `on signal ${signal}`;
  return code === null ? '(could not be started)' : `with code ${code}`;
}

function formatTail(logPath: string, tail: string[]): string {
  if (tail.length === 0) return `(no output in ${logPath})`;
  return `Last ${tail.length} lines of ${logPath}:\n${tail.map((line) => `  | ${line}`).join('\n')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
