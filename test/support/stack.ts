/**
 * Runs the built stack script (`node dist/scripts/stack.js`, what `npm start` runs) on free loopback
 * ports for integration tests, and reads its status file.
 *
 * Port race: the ports are picked free here and bound later by the stack's children, so another
 * process can take one in between. When the stack fails to start because a port is in use (its
 * own pre-check or a child's "address already in use"), it is started again on new ports, a bounded
 * number of times.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';
import { readStackStatus, type ChildStatus, type StackStatus } from '../../lib/process/status';
import { ADDRESS_IN_USE, freePorts, signalGroup } from '../../lib/process/supervisor';

export const STACK_SCRIPT = path.join(PROJECT_ROOT, 'dist', 'scripts', 'stack.js');
export const READY_LINE = 'retailflow is up';

export interface StackPorts {
  grpc: number;
  ui: number;
  pubsub: number;
  api: number;
  metrics: number;
  health: number;
  streamHealth: number;
  streamMetrics: number;
}

export interface RunningStack {
  proc: ChildProcess;
  runDir: string;
  ports: StackPorts;
  /** The environment the stack was started with (for CLI commands against it). */
  env: NodeJS.ProcessEnv;
  /** Everything the stack printed so far. */
  output(): string;
  status(): StackStatus;
  part(name: string): ChildStatus;
  /** Start attempts it took (1 unless a port was taken in between). */
  attempts: number;
}

export interface StartStackOptions {
  runDir: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Attempts in all when a port was taken; default 3. */
  attempts?: number;
}

export async function startStack(options: StartStackOptions): Promise<RunningStack> {
  if (!fs.existsSync(STACK_SCRIPT)) throw new Error(`${STACK_SCRIPT} is missing: run "npm run build" before this test`);
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const stack = await startOnce(options, attempt);
    if (typeof stack !== 'string') return stack;
    if (attempt >= attempts || !ADDRESS_IN_USE.test(stack)) assert.fail(`the stack did not come up (attempt ${attempt}):\n${stack}`);
    console.warn(`      [stack helper] a port was taken while the stack started; again on new ports (attempt ${attempt + 1})`);
  }
}

/** The running stack, or its output when it exited before it was up. */
async function startOnce(options: StartStackOptions, attempt: number): Promise<RunningStack | string> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const [grpc, ui, pubsub, api, metrics, health, streamHealth, streamMetrics] = await freePorts(8);
  const ports: StackPorts = { grpc, ui, pubsub, api, metrics, health, streamHealth, streamMetrics };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RETAILFLOW_STACK_ENV: 'none',
    RUN_DIR: options.runDir,
    WAREHOUSE: 'duckdb',
    DUCKDB_PATH: path.join(options.runDir, 'warehouse.duckdb'),
    // The daily CSV reports: under the test's own directory, never the checkout's data/.
    DATA_DIR: path.join(options.runDir, 'data'),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.grpc}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`,
    API_PORT: String(ports.api),
    WORKER_METRICS_PORT: String(ports.metrics),
    WORKER_HEALTH_PORT: String(ports.health),
    STREAM_HEALTH_PORT: String(ports.streamHealth),
    STREAM_METRICS_PORT: String(ports.streamMetrics),
    ...options.env,
  };
  const proc = spawn(process.execPath, [STACK_SCRIPT], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const statusFile = path.join(options.runDir, 'stack.json');
  const deadline = Date.now() + timeoutMs;
  while (!output.includes(READY_LINE)) {
    if (proc.exitCode !== null || proc.signalCode !== null) return `exit ${proc.exitCode ?? proc.signalCode}:\n${output}`;
    if (Date.now() > deadline) {
      killStack({ proc, statusFile });
      assert.fail(`no "${READY_LINE}" within ${timeoutMs / 1000} s:\n${output}`);
    }
    await sleep(200);
  }
  const status = (): StackStatus => {
    const value = readStackStatus(statusFile);
    if (!value) assert.fail(`${statusFile} is missing`);
    return value;
  };
  return {
    proc,
    runDir: options.runDir,
    ports,
    env,
    output: () => output,
    status,
    part: (name) => {
      const part = status().parts.find((candidate) => candidate.name === name);
      if (!part) assert.fail(`no part named ${name} in ${statusFile}`);
      return part;
    },
    attempts: attempt,
  };
}

/** After a failure: SIGKILL every part the status file names, and the stack, so no test leaves processes behind. */
/** A test's `after`: Ctrl-C the stack (SIGKILL what is left after 45 s or a failure) and remove its run dir. */
export async function stopStack(stack: RunningStack | undefined, runDir: string | undefined): Promise<void> {
  if (stack?.proc.exitCode === null) {
    stack.proc.kill('SIGINT');
    if ((await waitForExit(stack.proc, 45_000)) === 'timeout') killStack({ proc: stack.proc, runDir });
  }
  if (stack) killStack({ proc: stack.proc, runDir }); // anything left after a failure
  if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
}

export function killStack(stack: { proc: ChildProcess; statusFile?: string; runDir?: string }): void {
  const file = stack.statusFile ?? (stack.runDir ? path.join(stack.runDir, 'stack.json') : undefined);
  let parts: ChildStatus[] = [];
  try {
    parts = (file && readStackStatus(file)?.parts) || [];
  } catch {
    // a half-written or missing file: nothing to read
  }
  if (stack.proc.exitCode === null && stack.proc.signalCode === null) stack.proc.kill('SIGKILL');
  for (const part of parts) if (part.pid) signalGroup(part.pid, 'SIGKILL');
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null | 'timeout'> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export function get(url: string, timeoutMs = 5_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), body }));
    });
    request.once('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.once('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
