/**
 * `npm start`: the whole platform on loopback, in order, each waited for until healthy:
 * Temporal dev server -> Pub/Sub emulator -> worker -> API. Ctrl-C (or SIGTERM) stops them in
 * reverse order; a second Ctrl-C kills them at once. If any process dies, the rest are stopped
 * and the exit code is 1. Logs: RUN_DIR/logs/<name>.log; child PIDs while running: RUN_DIR/stack.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type Config } from '../lib/config';
import { pubsubEmulatorSpec } from '../lib/emulators';
import { isPortFree, parseHostPort, Supervisor, type ChildSpec, type HostPort } from '../lib/process/supervisor';
import { searchAttributeCliArgs } from '../lib/temporal/search-attributes';
import { toolPath } from '../lib/tools';

const DEFAULT_PUBSUB_EMULATOR_HOST = '127.0.0.1:8085';
const DUPLICATE_SIGNAL_MS = 1_000;
/** The banner's first line; tests wait for it. */
const READY_LINE = 'retailflow is up';

const HELP = `Usage: npm start   (or: node dist/scripts/stack.js [--help])

Starts the local platform and waits until each part is healthy:
  1. Temporal dev server (gRPC + Web UI, SQLite in RUN_DIR/temporal.db)
  2. Pub/Sub emulator
  3. worker (node dist/workers/main.js)
  4. API (node dist/api/server.js)
Ctrl-C stops everything (a second Ctrl-C kills it at once). Exit code 1 if a part fails.

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
  };
}

function stackSpecs(config: Config, endpoints: Endpoints, env: NodeJS.ProcessEnv): ChildSpec[] {
  const { api, workerHealth, pubsub, streamHealth } = endpoints;
  return [
    temporalSpec(config, endpoints, env),
    pubsubEmulatorSpec(pubsub.host, pubsub.port, env),
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
    nodeSpec({ name: 'consumer', script: 'workers/consumer.js', healthUrl: `http://${streamHealth.host}:${streamHealth.port}/health`, env, stopGraceMs: 30_000 }),
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
    'Press Ctrl-C to stop.',
  ].join('\n');
}

/** Resolves on the first SIGINT/SIGTERM/SIGHUP (after asking the supervisor to stop); a second one kills. */
function stopOnSignals(supervisor: Supervisor): { requested: () => boolean; signalled: Promise<NodeJS.Signals> } {
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

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(`unknown arguments: ${argv.join(' ')}\n\n${HELP}`);
    return 2;
  }
  // Google client libraries otherwise probe the GCE metadata server, which is not reachable here.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.PUBSUB_EMULATOR_HOST ||= DEFAULT_PUBSUB_EMULATOR_HOST;
  const config = loadConfig();
  const endpoints = endpointsOf(config);
  fs.mkdirSync(path.join(config.runDir, 'logs'), { recursive: true });
  // Children read the same settings; RUN_DIR is made absolute so they agree on it whatever their cwd.
  const env: NodeJS.ProcessEnv = { ...process.env, RUN_DIR: config.runDir };
  const specs = stackSpecs(config, endpoints, env);
  await assertPortsFree(endpoints, config.runDir);

  const supervisor = new Supervisor({ logDir: path.join(config.runDir, 'logs') });
  const stop = stopOnSignals(supervisor);
  const stateFile = path.join(config.runDir, 'stack.json');
  try {
    await startAll(supervisor, specs, stop.requested);
  } catch (err) {
    if (stop.requested()) return finish(supervisor, stateFile, 0);
    process.stdout.write('failed\n');
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
    return finish(supervisor, stateFile, 1);
  }
  if (stop.requested()) return finish(supervisor, stateFile, 0);

  fs.writeFileSync(stateFile, `${JSON.stringify({ pid: process.pid, children: supervisor.children }, null, 2)}\n`);
  console.log(banner(config, endpoints, process.uptime()));
  const outcome = await Promise.race([stop.signalled, supervisor.crashed]);
  return finish(supervisor, stateFile, typeof outcome === 'string' ? 0 : 1);
}

async function finish(supervisor: Supervisor, stateFile: string, code: number): Promise<number> {
  await supervisor.stop();
  fs.rmSync(stateFile, { force: true });
  console.log(`[stack] stopped${code === 0 ? '' : ' (after a failure)'}`);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
