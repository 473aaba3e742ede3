/**
 * `npm start`: the whole platform on loopback, in order, each waited for until healthy:
 * Temporal dev server -> Pub/Sub emulator -> worker -> API -> consumer. Ctrl-C (or SIGTERM) stops
 * them in reverse order; a second Ctrl-C kills them at once.
 *
 * Self-healing: a part that exits after it was ready is restarted (1 s, doubling to 30 s) and
 * health-checked again; after 5 exits within 60 s (a crash loop) it is left crashed and reported
 * while the rest keep running. The worker and the consumer are restarted after the Pub/Sub
 * emulator was, because the emulator keeps topics and subscriptions in memory. A part that fails
 * its first start stops everything (exit code 1).
 *
 * Logs: RUN_DIR/logs/<name>.log, rotated by size (LOG_MAX_BYTES x LOG_MAX_FILES), plus stack.log
 * for restarts. Status while running (typed: StackStatus in lib/process/status.ts): RUN_DIR/stack.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../lib/config';
import { pubsubEmulatorSpec } from '../lib/emulators';
import { LogSink } from '../lib/process/output';
import { writeStackStatus, type StackEndpoints, type StackStatus } from '../lib/process/status';
import {
  DEFAULT_RESTART_POLICY,
  isPortFree,
  parseHostPort,
  Supervisor,
  type ChildSpec,
  type ChildStatus,
  type HostPort,
  type LogRotation,
} from '../lib/process/supervisor';
import { searchAttributeCliArgs } from '../lib/temporal/search-attributes';
import { toolPath } from '../lib/tools';
import { describeSchedules, keepSchedules, publishStackEnv, stackEnvFile, withdrawStackEnv } from './stack-platform';

const DEFAULT_PUBSUB_EMULATOR_HOST = '127.0.0.1:8085';
const DUPLICATE_SIGNAL_MS = 1_000;
/** The banner's first line; tests wait for it. */
const READY_LINE = 'retailflow is up';

const HELP = `Usage: npm start [-- --no-schedules]   (or: node dist/scripts/stack.js [--no-schedules] [--help])

Starts the local platform and waits until each part is healthy:
  1. Temporal dev server (gRPC + Web UI, SQLite in RUN_DIR/temporal.db)
  2. Pub/Sub emulator
  3. worker (node dist/workers/main.js)
  4. API (node dist/api/server.js)
  5. stream consumer (node dist/workers/consumer.js)
Then it writes RUN_DIR/stack.env (the endpoints, for commands in other shells) and creates or
updates the platform's Schedules: daily analytics and data quality of yesterday, the intraday
refresh of today, weekly training (--no-schedules leaves them alone).
Ctrl-C stops everything (a second Ctrl-C kills it at once). A part that exits later is
restarted (backoff 1 s doubling to 30 s; after 5 exits within 60 s it is left crashed and the
rest keep running); states, restarts and last exits are in RUN_DIR/stack.json. Exit code 1 if
a part fails to start, or if one was left crashed.

Environment (defaults in brackets):
  RUN_DIR              state and logs [run]
  TEMPORAL_ADDRESS     Temporal gRPC host:port [127.0.0.1:7233]
  TEMPORAL_NAMESPACE   namespace created at start [default]
  TEMPORAL_UI_HOST     Web UI bind address [127.0.0.1]
  TEMPORAL_UI_PORT     Web UI port [8233]
  PUBSUB_EMULATOR_HOST Pub/Sub emulator host:port [${DEFAULT_PUBSUB_EMULATOR_HOST}]
  API_HOST, API_PORT   API bind address [127.0.0.1:3000]
  WORKER_METRICS_HOST, WORKER_METRICS_PORT   worker Prometheus endpoint [127.0.0.1:9464]
  WORKER_HEALTH_HOST, WORKER_HEALTH_PORT     worker health endpoint [127.0.0.1:9465]
  STREAM_HEALTH_PORT, STREAM_METRICS_PORT    consumer endpoints [9466, 9467]
  LOG_MAX_BYTES, LOG_MAX_FILES               log rotation per process [10485760 bytes x 5 files]
  TEMPORAL_CLI_PATH, PUBSUB_EMULATOR_BIN     tool overrides (default .tools/bin/*)
`;

interface Endpoints {
  temporalGrpc: HostPort;
  temporalUi: HostPort;
  pubsub: HostPort;
  api: HostPort;
  workerMetrics: HostPort;
  workerHealth: HostPort;
  streamHealth: HostPort;
  streamMetrics: HostPort;
}

function endpointsOf(config: Config): Endpoints {
  return {
    temporalGrpc: parseHostPort(config.temporal.address, 'TEMPORAL_ADDRESS'),
    temporalUi: { host: config.temporal.uiHost, port: config.temporal.uiPort },
    pubsub: parseHostPort(config.pubsub.emulatorHost ?? DEFAULT_PUBSUB_EMULATOR_HOST, 'PUBSUB_EMULATOR_HOST'),
    api: { host: config.api.host, port: config.api.port },
    workerMetrics: { host: config.worker.metricsHost, port: config.worker.metricsPort },
    workerHealth: { host: config.worker.healthHost, port: config.worker.healthPort },
    streamHealth: { host: config.stream.healthHost, port: config.stream.healthPort },
    streamMetrics: { host: config.stream.metricsHost, port: config.stream.metricsPort },
  };
}

const PORT_SETTINGS: Record<keyof Endpoints, string> = {
  temporalGrpc: 'TEMPORAL_ADDRESS',
  temporalUi: 'TEMPORAL_UI_PORT',
  pubsub: 'PUBSUB_EMULATOR_HOST',
  api: 'API_PORT',
  workerMetrics: 'WORKER_METRICS_PORT',
  workerHealth: 'WORKER_HEALTH_PORT',
  streamHealth: 'STREAM_HEALTH_PORT',
  streamMetrics: 'STREAM_METRICS_PORT',
};

/** Fail fast and clearly on a busy port: otherwise a probe could pass against a stranger's server. */
async function assertPortsFree(endpoints: Endpoints, runDir: string): Promise<void> {
  const busy: string[] = [];
  for (const key of Object.keys(endpoints) as (keyof Endpoints)[]) {
    const { host, port } = endpoints[key];
    if (!(await isPortFree(host, port))) busy.push(`  ${host}:${port} (set ${PORT_SETTINGS[key]} to move it)`);
  }
  if (busy.length > 0) {
    throw new Error(
      `these ports are already in use:\n${busy.join('\n')}\n` +
        `Is another stack running? Its PIDs are in ${path.join(runDir, 'stack.json')}.`,
    );
  }
}

function temporalSpec(config: Config, endpoints: Endpoints, env: NodeJS.ProcessEnv): ChildSpec {
  const { temporalGrpc: grpc, temporalUi: ui } = endpoints;
  const namespace = config.temporal.namespace;
  return {
    name: 'temporal',
    command: toolPath('temporal'),
    args: [
      'server', 'start-dev',
      '--ip', grpc.host, '--port', String(grpc.port),
      '--ui-ip', ui.host, '--ui-port', String(ui.port),
      '--ui-disable-news-fetch', // the UI would otherwise fetch a news feed from the internet
      '--db-filename', path.join(config.runDir, 'temporal.db'),
      ...config.temporal.sqlitePragmas.flatMap((pragma) => ['--sqlite-pragma', pragma]),
      // "default" always exists; naming it again is harmless but noisy.
      ...(namespace === 'default' ? [] : ['--namespace', namespace]),
      ...searchAttributeCliArgs(),
      '--log-format', 'json', '--log-level', 'warn',
    ],
    env,
    readiness: [
      { type: 'tcp', host: grpc.host, port: grpc.port },
      { type: 'http', url: `http://${ui.host}:${ui.port}/` },
    ],
    readyTimeoutMs: 60_000,
    stopGraceMs: 10_000,
    restart: DEFAULT_RESTART_POLICY, // its state is in the SQLite file: clients reconnect, nobody restarts with it
  };
}

interface NodeProcess {
  name: string;
  /** Path under dist/. */
  script: string;
  healthUrl: string;
  env: NodeJS.ProcessEnv;
  stopGraceMs: number;
}

function nodeSpec({ name, script, healthUrl, env, stopGraceMs }: NodeProcess): ChildSpec {
  const scriptPath = path.resolve(__dirname, '..', script);
  if (!fs.existsSync(scriptPath)) throw new Error(`${scriptPath} is missing: run "npm run build" first`);
  return {
    name,
    command: process.execPath,
    args: ['--enable-source-maps', scriptPath],
    env,
    readiness: [{ type: 'http', url: healthUrl }],
    // The worker bundles workflow code with webpack before it polls: slow on a small machine.
    readyTimeoutMs: 120_000,
    stopGraceMs,
    restart: DEFAULT_RESTART_POLICY,
  };
}

function stackSpecs(config: Config, endpoints: Endpoints, env: NodeJS.ProcessEnv): ChildSpec[] {
  const { api, workerHealth, pubsub, streamHealth } = endpoints;
  return [
    temporalSpec(config, endpoints, env),
    // Its journal keeps topics, subscriptions and unacked messages across a restart, so nobody
    // restarts with it: the clients' streams reconnect and unacked messages come again.
    { ...pubsubEmulatorSpec(pubsub.host, pubsub.port, env, path.join(config.runDir, 'pubsub', 'journal')), restart: DEFAULT_RESTART_POLICY },
    nodeSpec({
      name: 'worker',
      script: 'workers/main.js',
      healthUrl: `http://${workerHealth.host}:${workerHealth.port}/health`,
      env,
      // Longer than the worker's shutdownForceTime (45 s), so a draining worker is never SIGKILLed early.
      stopGraceMs: 50_000,
    }),
    // Longer than the API's close-with-grace delay (10 s).
    nodeSpec({ name: 'api', script: 'api/server.js', healthUrl: `http://${api.host}:${api.port}/health`, env, stopGraceMs: 15_000 }),
    // Longer than the consumer's drain timeout (25 s).
    nodeSpec({
      name: 'consumer',
      script: 'workers/consumer.js',
      healthUrl: `http://${streamHealth.host}:${streamHealth.port}/health`,
      env,
      stopGraceMs: 30_000,
    }),
  ];
}

function banner(config: Config, endpoints: Endpoints, seconds: number): string {
  const url = ({ host, port }: HostPort, suffix = ''): string => `http://${host}:${port}${suffix}`;
  const { temporalGrpc: grpc } = endpoints;
  const { namespace, taskQueue } = config.temporal;
  return [
    `${READY_LINE} (${seconds.toFixed(1)} s)`,
    `  Temporal Web UI   ${url(endpoints.temporalUi)}`,
    `  Temporal gRPC     ${grpc.host}:${grpc.port} (namespace ${namespace}, task queue ${taskQueue})`,
    `  Pub/Sub emulator  ${endpoints.pubsub.host}:${endpoints.pubsub.port}`,
    `  API               ${url(endpoints.api)}   (health: /health, metrics: /metrics)`,
    `  API docs          ${url(endpoints.api, '/docs')}`,
    `  Worker metrics    ${url(endpoints.workerMetrics, '/metrics')}`,
    `  Worker health     ${url(endpoints.workerHealth, '/health')}`,
    `  Stream consumer   ${url(endpoints.streamHealth, '/health')}   (metrics: ${url(endpoints.streamMetrics, '/metrics')})`,
    `  Logs              ${path.join(config.runDir, 'logs')}`,
    `  Status            ${path.join(config.runDir, 'stack.json')}   (parts restart on their own)`,
    `  Endpoints         ${stackEnvFile(config)}   (every retailflow command in any shell reads it)`,
    'Press Ctrl-C to stop.',
  ].join('\n');
}

/** Resolves on the first SIGINT/SIGTERM/SIGHUP (after asking the supervisor to stop); a second one kills. */
function stopOnSignals(supervisor: Supervisor, onStop: () => void): { requested: () => boolean; signalled: Promise<NodeJS.Signals> } {
  let received: NodeJS.Signals | undefined;
  let receivedAt = 0;
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        // Under `npm start` one Ctrl-C arrives twice: from the terminal and forwarded by npm.
        if (Date.now() - receivedAt < DUPLICATE_SIGNAL_MS) return;
        console.error(`[stack] ${signal} again: killing everything now`);
        supervisor.killNow();
        process.exit(130);
      }
      received = signal;
      receivedAt = Date.now();
      console.log(`[stack] ${signal}: stopping (Ctrl-C again to kill at once)…`);
      onStop();
      void supervisor.stop(); // also aborts a start that is still waiting for readiness
      resolve(signal);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  });
  return { requested: () => received !== undefined, signalled };
}

async function startAll(supervisor: Supervisor, specs: ChildSpec[], stopRequested: () => boolean): Promise<void> {
  for (const spec of specs) {
    if (stopRequested()) return;
    const began = performance.now();
    process.stdout.write(`[stack] starting ${spec.name}… `);
    const child = await supervisor.start(spec);
    process.stdout.write(`ready in ${((performance.now() - began) / 1000).toFixed(1)} s (pid ${child.pid})\n`);
  }
}

function statusEndpoints(config: Config, endpoints: Endpoints): StackEndpoints {
  const hostPort = ({ host, port }: HostPort): string => `${host}:${port}`;
  const url = (hp: HostPort, suffix = ''): string => `http://${hostPort(hp)}${suffix}`;
  return {
    temporalGrpc: hostPort(endpoints.temporalGrpc),
    temporalUi: url(endpoints.temporalUi),
    pubsubEmulator: hostPort(endpoints.pubsub),
    api: url(endpoints.api),
    apiDocs: url(endpoints.api, '/docs'),
    workerMetrics: url(endpoints.workerMetrics, '/metrics'),
    workerHealth: url(endpoints.workerHealth, '/health'),
    consumerHealth: url(endpoints.streamHealth, '/health'),
    consumerMetrics: url(endpoints.streamMetrics, '/metrics'),
    logs: path.join(config.runDir, 'logs'),
  };
}

/** RUN_DIR/stack.json: rewritten (atomically) on every change of a part, removed on a clean stop. */
class StatusFile {
  private state: StackStatus['state'] = 'starting';
  private parts: ChildStatus[] = [];
  private removed = false;
  private failedOnce = false;

  constructor(
    readonly file: string,
    private readonly startedAt: Date,
    private readonly endpoints: StackEndpoints,
  ) {}

  update(change: { parts?: ChildStatus[]; state?: StackStatus['state'] }): void {
    this.parts = change.parts ?? this.parts;
    this.state = change.state ?? this.state;
    if (this.removed) return;
    const status: StackStatus = {
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      updatedAt: new Date().toISOString(),
      state: this.state,
      endpoints: this.endpoints,
      parts: this.parts,
    };
    try {
      writeStackStatus(this.file, status);
    } catch (err) {
      if (!this.failedOnce) console.error(`[stack] cannot write ${this.file}: ${err instanceof Error ? err.message : String(err)}`);
      this.failedOnce = true;
    }
  }

  remove(): void {
    this.removed = true;
    fs.rmSync(this.file, { force: true });
  }
}

/** Restarts and crash reports: printed, and kept in RUN_DIR/logs/stack.log (rotated like the others). */
function eventLog(logDir: string, rotation: LogRotation): { write: (message: string) => void; close: () => Promise<void> } {
  const sink = new LogSink(path.join(logDir, 'stack.log'), rotation, (err) => console.error(`[stack] cannot write stack.log: ${err.message}`));
  return {
    write: (message) => {
      const text = `[stack] ${message}`;
      console.log(text);
      sink.write(`${new Date().toISOString()} ${text}\n`);
    },
    close: () => sink.close(),
  };
}

interface StackOptions {
  schedules: boolean;
}

function parseOptions(argv: string[]): StackOptions | 'help' {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, 'no-schedules': { type: 'boolean' } } });
  if (values.help) return 'help';
  return { schedules: !values['no-schedules'] };
}

async function main(argv: string[]): Promise<number> {
  let options: StackOptions;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    options = parsed;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  const startedAt = new Date();
  // Google client libraries otherwise probe the GCE metadata server, which is not reachable here.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.PUBSUB_EMULATOR_HOST ||= DEFAULT_PUBSUB_EMULATOR_HOST;
  // The stack decides its endpoints from the environment, never from an earlier run's stack.env.
  process.env.RETAILFLOW_STACK_ENV = 'none';
  const config = loadConfig();
  const endpoints = endpointsOf(config);
  const logDir = path.join(config.runDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  // Children read the same settings; RUN_DIR is made absolute so they agree on it whatever their cwd.
  const env: NodeJS.ProcessEnv = { ...process.env, RUN_DIR: config.runDir };
  const specs = stackSpecs(config, endpoints, env);
  const rotation: LogRotation = { maxBytes: config.logs.maxBytes, maxFiles: config.logs.maxFiles };
  await assertPortsFree(endpoints, config.runDir);

  const events = eventLog(logDir, rotation);
  const status = new StatusFile(path.join(config.runDir, 'stack.json'), startedAt, statusEndpoints(config, endpoints));
  const supervisor = new Supervisor({
    logDir,
    logRotation: rotation,
    report: events.write,
    onChange: (parts) => status.update({ parts }),
  });
  status.update({});
  // A second Ctrl-C exits at once: no stale status file claims that the stack still runs.
  process.once('exit', () => status.remove());
  const stop = stopOnSignals(supervisor, () => status.update({ state: 'stopping' }));
  const finish = async (code: number): Promise<number> => {
    const crashed = supervisor.status().filter((part) => part.state === 'crashed').map((part) => part.name);
    withdrawStackEnv(config);
    await supervisor.stop();
    status.remove();
    const failed = code !== 0 || crashed.length > 0;
    const why = crashed.length > 0 ? ` (${crashed.join(', ')} crashed and ${crashed.length > 1 ? 'were' : 'was'} not restarted)` : failed ? ' (after a failure)' : '';
    events.write(`stopped${why}`);
    await events.close();
    return failed ? 1 : 0;
  };
  try {
    await startAll(supervisor, specs, stop.requested);
  } catch (err) {
    if (stop.requested()) return finish(0);
    process.stdout.write('failed\n');
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
    return finish(1);
  }
  if (stop.requested()) return finish(0);

  status.update({ state: 'up' });
  publishStackEnv(config);
  console.log(banner(config, endpoints, process.uptime()));
  if (options.schedules) {
    try {
      console.log(describeSchedules(await keepSchedules(config)));
    } catch (err) {
      console.error(`[stack] could not create the Schedules: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // Parts restart on their own; only a part without a restart policy (none here) ends the stack.
  const outcome = await Promise.race([stop.signalled, supervisor.crashed]);
  return finish(typeof outcome === 'string' ? 0 : 1);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
