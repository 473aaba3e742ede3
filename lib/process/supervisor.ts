/**
 * Starts long-running child processes, waits until they are ready, keeps them running, and stops
 * them cleanly.
 *
 * - Each child runs in its own process group (`detached: true`), so a stop signal reaches its
 *   grandchildren too (JVM wrappers, shells), and a terminal's Ctrl-C reaches only us: we decide
 *   the stop order.
 * - stdout and stderr are piped into `<logDir>/<name>.log`, rotated by size (`logRotation`, default
 *   10 MiB x 5 files). Probes and error messages look only at what the current run printed (kept in
 *   memory, the last 256 KiB), never at earlier runs or rotated files.
 * - Stop is in reverse start order: SIGTERM to the group, SIGKILL after the grace period.
 * - A child that exits on its own after it was ready:
 *   - with a `restart` policy, is started again after a backoff (`initialMs`, doubling for each
 *     further exit within `windowMs`, at most `maxMs`) and must pass its probes again. After
 *     `maxExits` exits within `windowMs` (a crash loop) it is left `crashed`, reported, and the
 *     others keep running. Children that name it in `restartWith` are restarted after it is back
 *     (they keep state in it, e.g. topics in an in-memory emulator).
 *   - without one, is reported (name, exit code, log path, log tail) and the rest are stopped;
 *     `crashed` then resolves with the report (the behaviour test hooks rely on).
 * - `status()` (and `onChange`) give each child's state, pid, restarts and last exit.
 *
 * Generic on purpose: used by `scripts/stack.ts` and by test hooks that start emulators.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { isGroupAlive, signalGroup } from './groups';
import { DEFAULT_LOG_ROTATION, LogSink, OutputBuffer, validateLogRotation, type LogRotation } from './output';
import { describeProbe, probeOnce, type ReadinessProbe } from './probes';
import type { ChildExit, ChildState, ChildStatus } from './status';

export {
  ADDRESS_IN_USE,
  freePort,
  freePorts,
  isAddressInUse,
  isPortFree,
  parseHostPort,
  withFreePorts,
  type HostPort,
  type PortRetryOptions,
} from './ports';
export { canConnect, httpStatus, type ReadinessProbe } from './probes';
export { isGroupAlive, isPidAlive, livingGroupMembers, signalGroup } from './groups';
export { DEFAULT_LOG_ROTATION, logFiles, MAX_CHUNK_BYTES, type LogRotation } from './output';
export type { ChildExit, ChildState, ChildStatus, StackEndpoints, StackStatus } from './status';

export interface RestartPolicy {
  /** Delay before the first restart; it doubles for each further exit within `windowMs`. */
  initialMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** This many exits within `windowMs` is a crash loop: no further restart. */
  maxExits: number;
  windowMs: number;
}

/** 1 s doubling to 30 s; 5 exits within 60 s stop the restarts. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialMs: 1_000, maxMs: 30_000, maxExits: 5, windowMs: 60_000 };

/** The delay before restarting after the `exitsInWindow`-th exit within the window (1-based). */
export function restartDelay(policy: RestartPolicy, exitsInWindow: number): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, exitsInWindow - 1));
}

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
  /** Restart it when it exits after it was ready (fields default to DEFAULT_RESTART_POLICY's). None: its exit stops everything. */
  restart?: Partial<RestartPolicy>;
  /** Names of children started before it; after one of them was restarted, restart this one too. */
  restartWith?: readonly string[];
}

export interface ChildInfo {
  name: string;
  /** Also the process group id (of the current process after a restart). */
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
  /** Where crash, restart and crash-loop reports go; default stderr. */
  report?: (message: string) => void;
  /** Size rotation of every child's log; default 10 MiB x 5 files. */
  logRotation?: LogRotation;
  /** Called with every child's status after any of them changed (state, pid, restarts). */
  onChange?: (status: ChildStatus[]) => void;
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

/** One process of a child: the first start, or a restart. */
interface Run {
  pid: number;
  exited: Promise<ExitStatus>;
  exitStatus?: ExitStatus;
  /** Both pipes closed: everything it printed has reached us. */
  outputClosed: Promise<void>;
  output: OutputBuffer;
  /** Set once its probes passed: from then on an exit is unexpected, before it start() reports it. */
  ready: boolean;
  /** We stop it on purpose (a restart with a dependency): its exit is not a crash. */
  expected: boolean;
}

interface Managed {
  spec: ChildSpec;
  policy: RestartPolicy | undefined;
  logPath: string;
  sink: LogSink;
  run: Run | undefined;
  state: ChildState;
  since: Date;
  restarts: number;
  lastExit: ChildExit | null;
  lastRestartReason: string | null;
  /** Times of recent unexpected exits (and failed restarts), for the backoff and the crash-loop cutoff. */
  exitTimes: number[];
  /** Ends a backoff wait early (stop). */
  wake: (() => void) | undefined;
  /** The restart in progress, if any. */
  healing: Promise<void> | undefined;
}

const POLL_MS = 150;
const KILL_WAIT_MS = 5_000;
/** How long an exit report waits for the last output to arrive through the pipes. */
const OUTPUT_DRAIN_MS = 500;

export class Supervisor {
  /** Resolves once after a child without a restart policy died unexpectedly and the others were stopped. */
  readonly crashed: Promise<ExitReport>;
  private resolveCrashed!: (report: ExitReport) => void;
  private readonly managed: Managed[] = [];
  private stopping: Promise<void> | undefined;
  private killed = false;
  private readonly rotation: LogRotation;
  private readonly killAllOnExit = (): void => this.killNow();

  constructor(private readonly options: SupervisorOptions) {
    this.crashed = new Promise((resolve) => (this.resolveCrashed = resolve));
    this.rotation = validateLogRotation(options.logRotation ?? DEFAULT_LOG_ROTATION);
    fs.mkdirSync(options.logDir, { recursive: true });
    // Last resort if this process exits without stop() (uncaught error): no orphans left behind.
    process.once('exit', this.killAllOnExit);
  }

  get children(): readonly ChildInfo[] {
    return this.managed.map((child) => this.infoOf(child));
  }

  /** Every child's state, in start order. */
  status(): ChildStatus[] {
    return this.managed.map((child) => ({
      name: child.spec.name,
      pid: child.run && !child.run.exitStatus ? child.run.pid : null,
      state: child.state,
      restarts: child.restarts,
      lastExit: child.lastExit,
      lastRestartReason: child.lastRestartReason,
      since: child.since.toISOString(),
      logPath: child.logPath,
    }));
  }

  /** What the current process of `name` printed (the last 256 KiB), e.g. to read a port it chose. */
  outputOf(name: string): string {
    return this.managed.find((child) => child.spec.name === name)?.run?.output.text() ?? '';
  }

  /** Spawn the child and wait for its readiness probes. On failure the child is already stopped. */
  async start(spec: ChildSpec): Promise<ChildInfo> {
    if (this.isStopping()) throw new Error(`cannot start ${spec.name}: the supervisor is stopping`);
    if (this.managed.some((child) => child.spec.name === spec.name)) {
      throw new Error(`a child named ${spec.name} is already running`);
    }
    const child = this.manage(spec);
    try {
      child.run = this.spawnRun(child, `starting ${spec.name}: ${commandLine(spec)}`);
      this.changed(child, 'starting');
      await this.waitUntilReady(child, child.run);
    } catch (err) {
      if (child.run) await this.stopRun(child, child.run);
      this.forget(child);
      await child.sink.close();
      throw err;
    }
    child.run.ready = true;
    await child.sink.flushed(); // what the probes saw is in the file when start resolves
    this.changed(child, 'ready');
    return this.infoOf(child);
  }

  /** Stop all children in reverse start order. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** SIGKILL every child group now (synchronous; for a second Ctrl-C or process exit). No restarts after this. */
  killNow(): void {
    this.killed = true;
    for (const child of this.managed) {
      child.wake?.();
      if (child.run) signalGroup(child.run.pid, 'SIGKILL');
    }
  }

  private isStopping(): boolean {
    return this.stopping !== undefined || this.killed;
  }

  private manage(spec: ChildSpec): Managed {
    const logPath = path.join(this.options.logDir, `${spec.name}.log`);
    const child: Managed = {
      spec,
      policy: spec.restart ? { ...DEFAULT_RESTART_POLICY, ...spec.restart } : undefined,
      logPath,
      sink: new LogSink(logPath, this.rotation, (err) =>
        this.write(`${spec.name}: cannot write ${logPath} (${err.message}); its output is dropped from now on`),
      ),
      run: undefined,
      state: 'starting',
      since: new Date(),
      restarts: 0,
      lastExit: null,
      lastRestartReason: null,
      exitTimes: [],
      wake: undefined,
      healing: undefined,
    };
    this.managed.push(child);
    return child;
  }

  private spawnRun(child: Managed, header: string): Run {
    const { spec, sink } = child;
    sink.write(`\n===== ${new Date().toISOString()} ${header}\n`);
    const proc: ChildProcess = spawn(spec.command, [...(spec.args ?? [])], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = exitOf(proc); // listen first: a spawn failure emits 'error' right after this tick
    const pipes = [proc.stdout, proc.stderr].filter((pipe): pipe is Readable => pipe !== null);
    if (proc.pid === undefined) {
      for (const pipe of pipes) pipe.destroy();
      throw new Error(`could not start ${spec.name}: "${spec.command}" failed to spawn`);
    }
    const output = new OutputBuffer();
    const outputClosed = Promise.all(pipes.map((pipe) => new Promise<void>((resolve) => pipe.once('close', () => resolve())))).then(() => undefined);
    const resume = (): void => pipes.forEach((pipe) => pipe.resume());
    for (const pipe of pipes) {
      pipe.on('data', (chunk: Buffer) => {
        output.append(chunk);
        if (!sink.write(chunk)) {
          // The file is behind: hold the child's pipes (it blocks on a full pipe) until it catches up.
          pipes.forEach((other) => other.pause());
          sink.onDrain(resume);
        }
      });
    }
    const run: Run = { pid: proc.pid, exited, outputClosed, output, ready: false, expected: false };
    void exited.then((status) => this.onExit(child, run, status));
    return run;
  }

  private async waitUntilReady(child: Managed, run: Run): Promise<void> {
    const probes = child.spec.readiness ?? [];
    const timeoutMs = child.spec.readyTimeoutMs ?? 60_000;
    const pending = new Set(probes);
    const deadline = Date.now() + timeoutMs;
    const context = { output: () => run.output.text() };
    for (;;) {
      if (run.exitStatus) {
        await Promise.race([run.outputClosed, sleep(OUTPUT_DRAIN_MS)]);
        throw this.startError(child, run, `${child.spec.name} exited ${describeExit(run.exitStatus)} before it was ready`);
      }
      for (const probe of [...pending]) {
        if (await probeOnce(probe, context)) pending.delete(probe);
      }
      if (pending.size === 0 && !run.exitStatus) return;
      if (Date.now() > deadline) {
        const waitingFor = [...pending].map(describeProbe).join('; ');
        const headline = `${child.spec.name} was not ready within ${timeoutMs / 1000} s (waiting for: ${waitingFor})`;
        throw this.startError(child, run, headline);
      }
      await sleep(POLL_MS);
    }
  }

  private startError(child: Managed, run: Run, headline: string): ChildStartError {
    const tail = run.output.tail(this.tailLines());
    return new ChildStartError(`${headline}\n${formatTail(child.logPath, tail)}`, { name: child.spec.name, pid: run.pid, logPath: child.logPath }, tail);
  }

  private onExit(child: Managed, run: Run, status: ExitStatus): void {
    run.exitStatus = status;
    if (this.isStopping() || run.expected || !run.ready || child.run !== run) {
      if (child.run === run) this.changed(child); // the pid is gone
      return;
    }
    // The leader is gone; what is left of its group (a grandchild holding its port) goes too.
    signalGroup(run.pid, 'SIGKILL');
    child.healing = this.afterUnexpectedExit(child, run, status);
  }

  private async afterUnexpectedExit(child: Managed, run: Run, status: ExitStatus): Promise<void> {
    await Promise.race([run.outputClosed, sleep(OUTPUT_DRAIN_MS)]); // its last lines reach the tail and the log
    if (this.isStopping()) return;
    const { name } = child.spec;
    this.recordExit(child, status);
    const tail = run.output.tail(this.tailLines());
    if (!child.policy) {
      child.run = undefined;
      this.changed(child, 'crashed');
      const report: ExitReport = { name, pid: run.pid, logPath: child.logPath, ...status, logTail: tail };
      this.write(`${name} (pid ${run.pid}) exited unexpectedly ${describeExit(status)}; stopping the rest.\n${formatTail(child.logPath, tail)}`);
      void this.stop().then(() => this.resolveCrashed(report));
      return;
    }
    this.write(`${name} (pid ${run.pid}) exited unexpectedly ${describeExit(status)}.\n${formatTail(child.logPath, tail)}`);
    await this.heal(child, `exited ${describeExit(status)}`);
  }

  /**
   * Restart `child` after an exit, with backoff, until it is ready again, the supervisor stops, or
   * the exits within the policy's window reach maxExits (then it stays crashed).
   */
  private async heal(child: Managed, reason: string): Promise<void> {
    const policy = child.policy as RestartPolicy;
    const { name } = child.spec;
    for (;;) {
      const now = Date.now();
      child.exitTimes = child.exitTimes.filter((time) => now - time < policy.windowMs);
      child.run = undefined;
      if (child.exitTimes.length >= policy.maxExits) {
        this.changed(child, 'crashed');
        this.write(
          `${name} exited ${child.exitTimes.length} times within ${policy.windowMs / 1000} s (a crash loop): not restarting it again; ` +
            `the other processes keep running. Log: ${child.logPath}`,
        );
        return;
      }
      const delayMs = restartDelay(policy, child.exitTimes.length);
      this.changed(child, 'restarting');
      this.write(`${name} ${reason}: restart ${child.restarts + 1} in ${formatSeconds(delayMs)}`);
      await this.backoff(child, delayMs);
      if (this.isStopping()) return;
      const failure = await this.respawn(child, reason);
      if (failure === undefined) return;
      reason = failure;
    }
  }

  /** Start the next process of `child`; undefined when it is ready (or the supervisor stops), else why it failed (recorded as an exit). */
  private async respawn(child: Managed, reason: string): Promise<string | undefined> {
    const { name } = child.spec;
    child.restarts++;
    child.lastRestartReason = reason;
    const began = performance.now();
    let run: Run;
    try {
      run = this.spawnRun(child, `restarting ${name} (restart ${child.restarts}: ${reason}): ${commandLine(child.spec)}`);
    } catch (err) {
      this.recordExit(child, { code: null, signal: null }, 'could not be spawned');
      this.write(err instanceof Error ? err.message : String(err));
      return 'could not be spawned';
    }
    child.run = run;
    this.changed(child, 'restarting');
    try {
      await this.waitUntilReady(child, run);
    } catch (err) {
      if (this.isStopping()) return undefined;
      await this.stopRun(child, run);
      const failure = run.exitStatus && run.exitStatus.code !== null ? `exited ${describeExit(run.exitStatus)} before it was ready` : 'was not ready in time';
      this.recordExit(child, run.exitStatus ?? { code: null, signal: null }, failure);
      this.write(`${name}: restart ${child.restarts} failed: ${err instanceof Error ? err.message : String(err)}`);
      return failure;
    }
    if (this.isStopping()) return undefined;
    run.ready = true;
    this.changed(child, 'ready');
    this.write(`${name} is back: restart ${child.restarts} ready in ${formatSeconds(performance.now() - began)} (pid ${run.pid})`);
    await this.restartDependents(child);
    return undefined;
  }

  /** After `dependency` came back, restart the ready children that keep state in it, in start order. */
  private async restartDependents(dependency: Managed): Promise<void> {
    const reason = `${dependency.spec.name} restarted`;
    for (const child of [...this.managed]) {
      if (child === dependency || !child.spec.restartWith?.includes(dependency.spec.name)) continue;
      if (this.isStopping()) return;
      const run = child.run;
      if (child.state !== 'ready' || !run || run.exitStatus) continue; // restarting on its own, or crashed
      run.expected = true;
      this.changed(child, 'restarting');
      this.write(`${child.spec.name}: restarting it because ${reason}`);
      const restart = (async () => {
        await this.stopRun(child, run);
        if (this.isStopping()) return;
        const failure = await this.respawn(child, reason);
        if (failure === undefined) return;
        if (child.policy) return this.heal(child, failure);
        this.changed(child, 'crashed');
        this.write(`${child.spec.name} failed to restart after ${reason}; stopping the rest.`);
        const tail = child.run?.output.tail(this.tailLines()) ?? [];
        void this.stop().then(() => this.resolveCrashed({ ...this.infoOf(child), code: null, signal: null, logTail: tail }));
      })();
      child.healing = restart;
      await restart;
    }
  }

  /** Wait `ms`, or less if the supervisor stops meanwhile. */
  private backoff(child: Managed, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        child.wake = undefined;
        resolve();
      }
      child.wake = done;
    });
  }

  private recordExit(child: Managed, status: ExitStatus, reason?: string): void {
    child.lastExit = { code: status.code, signal: status.signal, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
    child.exitTimes.push(Date.now());
  }

  private async stopAll(): Promise<void> {
    for (const child of this.managed) child.wake?.();
    for (const child of [...this.managed].reverse()) {
      if (child.run) await this.stopRun(child, child.run);
      if (child.state !== 'crashed') this.changed(child, 'stopped');
    }
    // Restarts in progress notice the stop (their process is gone, their backoff woken) and end.
    await Promise.race([Promise.allSettled(this.managed.map((child) => child.healing)), sleep(KILL_WAIT_MS)]);
    await Promise.all(this.managed.map((child) => child.sink.close()));
    process.removeListener('exit', this.killAllOnExit);
  }

  /** SIGTERM the group, wait for every member to go (not just the leader), then SIGKILL. */
  private async stopRun(child: Managed, run: Run): Promise<void> {
    const pgid = run.pid;
    const graceMs = child.spec.stopGraceMs ?? this.options.stopGraceMs ?? 10_000;
    if (signalGroup(pgid, 'SIGTERM') && !(await waitUntil(() => !isGroupAlive(pgid), graceMs))) {
      signalGroup(pgid, 'SIGKILL');
      await waitUntil(() => !isGroupAlive(pgid), KILL_WAIT_MS);
    }
    // The leader's exit event can trail the group's disappearance by a tick; wait so status is recorded.
    await Promise.race([run.exited, sleep(KILL_WAIT_MS)]);
  }

  private forget(child: Managed): void {
    const index = this.managed.indexOf(child);
    if (index >= 0) this.managed.splice(index, 1);
  }

  private changed(child: Managed, state?: ChildState): void {
    if (state && state !== child.state) {
      child.state = state;
      child.since = new Date();
    }
    this.options.onChange?.(this.status());
  }

  private infoOf(child: Managed): ChildInfo {
    return { name: child.spec.name, pid: child.run?.pid ?? 0, logPath: child.logPath };
  }

  private tailLines(): number {
    return this.options.tailLines ?? 20;
  }

  private write(message: string): void {
    (this.options.report ?? ((text: string) => process.stderr.write(`${text}\n`)))(message);
  }
}

function commandLine(spec: ChildSpec): string {
  return [spec.command, ...(spec.args ?? [])].join(' ');
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

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
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
