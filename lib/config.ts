/**
 * The one typed configuration loader. Everything configurable comes from environment variables
 * (documented in .env.example) and is read here and nowhere else: code below takes a `Config`
 * (or a field of it) as an argument, so tests can pass their own.
 *
 * Defaults give a working local stack on loopback with no credentials. While `npm start` runs, it
 * writes the endpoints it started to `run/stack.env`; a command in any other shell reads them
 * from there, and explicitly set variables still win (lib/stack-env.ts).
 */
import * as path from 'node:path';
import { ExpectedError } from './errors';
import { PROJECT_ROOT } from './paths';
import { withStackEnv } from './stack-env';
import { DEFAULT_TASK_QUEUE } from './task-queue';
import type { TemporalSecurity } from './temporal/connection-options';
import { isInsideRepository } from './security/secret-files';

export { PROJECT_ROOT } from './paths';

/** An environment: `process.env`, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The data-quality thresholds derived from the data's own history (docs/data_quality.md). */
export const DEFAULT_THRESHOLDS_FILE = path.resolve(PROJECT_ROOT, 'config/quality-thresholds.json');

/** The Pub/Sub emulator's address in local mode when nothing else says otherwise. */
export const DEFAULT_PUBSUB_EMULATOR_HOST = '127.0.0.1:8085';

/** Reads typed values from one environment; every reader names the variable in its error. */
function readers(env: Env) {
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const optional = (name: string): string | undefined => env[name] || undefined;
  const int = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
    return n;
  };
  const decimal = (name: string, fallback: string): string => {
    const v = str(name, fallback);
    if (!/^\d{1,12}(\.\d{1,9})?$/.test(v)) throw new ConfigError(`${name} must be a non-negative decimal number, got "${v}"`);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = str(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = str(name, fallback ? 'true' : 'false').toLowerCase();
    if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v)) throw new ConfigError(`${name} must be true or false, got "${v}"`);
    return ['true', '1', 'yes'].includes(v);
  };
  const dir = (name: string, fallback: string): string => path.resolve(PROJECT_ROOT, str(name, fallback));
  return { str, optional, int, decimal, oneOf, bool, dir };
}

/**
 * WAL with synchronous=NORMAL: the dev server commits every state transition, and with SQLite's
 * default rollback journal each commit is two fsyncs. In WAL mode with NORMAL a crash of the server
 * process (kill -9, OOM) loses nothing; only a power loss or an OS crash can lose the transactions
 * since the last checkpoint. Measured: the full-year backfill through npm start 61.5 s -> 50.4 s
 * (docs/benchmarks.md). `none` keeps SQLite's defaults (full durability).
 */
export const DEFAULT_SQLITE_PRAGMAS = 'journal_mode=wal,synchronous=normal';

function sqlitePragmas(raw: string): string[] {
  if (raw.trim().toLowerCase() === 'none') return [];
  const pragmas = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = pragmas.find((p) => !/^[a-z_]+=[A-Za-z0-9_-]+$/.test(p));
  if (bad !== undefined) throw new ConfigError(`TEMPORAL_SQLITE_PRAGMAS must be comma-separated PRAGMA=VALUE pairs (or none), got "${bad}"`);
  return pragmas;
}

/** A variable has a value the platform cannot use; the message names it. */
export class ConfigError extends ExpectedError {
  override readonly name = 'ConfigError';
}

export type WarehouseBackend = 'duckdb' | 'bigquery';

export interface Config {
  runDir: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    uiHost: string;
    /** `PRAGMA=VALUE` statements for the local dev server's SQLite file (npm start). */
    sqlitePragmas: string[];
    /** TLS and API key for the frontend (lib/temporal/connection-options.ts); files are read on connect. */
    security: TemporalSecurity;
  };
  pubsub: { emulatorHost: string | undefined; projectId: string };
  warehouse: {
    backend: WarehouseBackend;
    duckdbPath: string;
    bigquery: { projectId: string; dataset: string; location: string; emulatorHost: string | undefined };
  };
  api: { host: string; port: number; bodyLimit: number; security: ApiSecurity };
  worker: { metricsHost: string; metricsPort: number; healthHost: string; healthPort: number };
  /** The stream consumer (workers/consumer.ts) and the stream CLI; see docs/streaming.md. */
  stream: {
    topic: string;
    subscription: string;
    deadLetterTopic: string;
    deadLetterSubscription: string;
    batchSize: number;
    batchWaitMs: number;
    maxInFlight: number;
    highValueThreshold: string;
    maxMessageBytes: number;
    healthHost: string;
    healthPort: number;
    metricsHost: string;
    metricsPort: number;
    duckdbReleaseMs: number;
  };
  /** The model registry (lib/model/registry.ts) and its artifact store; see docs/model_info.md. */
  model: {
    /** Directory of `<version>.rfm` artifacts. */
    storeDir: string;
    /** The gate promotes a new model if its holdout MAE <= current MAE x (1 + this). */
    promotionMaeTolerance: number;
    /** The gate refuses a bigger artifact (servers keep the promoted model in memory). */
    maxArtifactBytes: number;
    /** How often the API and the consumer look for a newly promoted model. */
    reloadIntervalMs: number;
    /** The Markdown document whose registry section is regenerated (lib/model/model-info.ts). */
    infoPath: string;
  };
  quality: { thresholdsFile: string };
  /** SHOP_TIMEZONE: the IANA zone whose calendar decides what "today" and "yesterday" mean for the shop. */
  shop: { timeZone: string };
  /** The Schedules `npm start` keeps (clients/platform-schedules.ts). */
  schedules: { intradayEveryMinutes: number };
  /** Overrides of the tools scripts/setup.sh installs into .tools/bin (lib/tools.ts). */
  tools: { temporal?: string; pubsubEmulator?: string; bigqueryEmulator?: string };
  dataCsv: string;
  /** Where generated outputs (CSV reports, dataset summary) go. */
  dataDir: string;
  logLevel: string;
  /** Log rotation of npm start's processes (RUN_DIR/logs) and the API's request logging; see .env.example. */
  logs: { maxBytes: number; maxFiles: number; apiAccessLog: boolean; apiSlowRequestMs: number; apiSummaryIntervalMs: number };
}

/**
 * The API's protections (api/plugins/security.ts, docs/security.md). Local mode starts with all of
 * them off; cloud mode (RETAILFLOW_ENV=cloud) with auth, headers and a rate limit on, and refuses to
 * start with auth on and no key, so a production API cannot be left open by accident.
 */
export interface ApiSecurity {
  /** Every route but an open /health needs one of these keys (x-api-key, Bearer, or Basic password). */
  auth: boolean;
  /** API_KEYS and API_KEYS_FILE as given; read when the API starts (lib/security/api-keys.ts), not by every process. */
  keysInline: string | undefined;
  keysFile: string | undefined;
  /** /health answers without a key (load balancer and Kubernetes probes). */
  healthOpen: boolean;
  /** Requests per client per window; 0 = no limit. A client is its API key, else its address. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** @fastify/helmet's headers (CSP, HSTS, nosniff, frame-ancestors...). */
  securityHeaders: boolean;
  /** Origins allowed to call the API from a browser; empty = no CORS headers at all. */
  corsOrigins: string[];
}

function apiSecurity(env: Env, local: boolean): ApiSecurity {
  const { int, bool, optional } = readers(env);
  const corsOrigins = (optional('API_CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  const badOrigin = corsOrigins.find((o) => o === '*' || !/^https?:\/\/[^/\s]+$/.test(o));
  if (badOrigin !== undefined) throw new ConfigError(`API_CORS_ORIGINS must list origins like https://shop.example.com (no wildcard, no path), got "${badOrigin}"`);
  return {
    auth: bool('API_AUTH', !local),
    keysInline: optional('API_KEYS'),
    keysFile: optional('API_KEYS_FILE'),
    healthOpen: bool('API_AUTH_HEALTH_OPEN', true),
    rateLimitMax: int('API_RATE_LIMIT_MAX', local ? 0 : 6_000),
    rateLimitWindowMs: Math.max(1_000, int('API_RATE_LIMIT_WINDOW_MS', 60_000)),
    securityHeaders: bool('API_SECURITY_HEADERS', !local),
    corsOrigins,
  };
}

export function loadConfig(processEnv: Env = process.env): Config {
  const env = withStackEnv(processEnv);
  const { str, optional, int, decimal, oneOf, dir } = readers(env);
  const local = isLocalMode(env);
  refuseCredentialsInRepository(optional('GOOGLE_APPLICATION_CREDENTIALS'));
  return {
    runDir: dir('RUN_DIR', 'run'),
    temporal: {
      address: str('TEMPORAL_ADDRESS', '127.0.0.1:7233'),
      namespace: str('TEMPORAL_NAMESPACE', 'default'),
      taskQueue: str('TEMPORAL_TASK_QUEUE', DEFAULT_TASK_QUEUE),
      uiHost: str('TEMPORAL_UI_HOST', '127.0.0.1'),
      uiPort: int('TEMPORAL_UI_PORT', 8233),
      sqlitePragmas: sqlitePragmas(str('TEMPORAL_SQLITE_PRAGMAS', DEFAULT_SQLITE_PRAGMAS)),
      security: {
        tls: readers(env).bool('TEMPORAL_TLS', false),
        caFile: optional('TEMPORAL_TLS_CA_FILE'),
        certFile: optional('TEMPORAL_TLS_CERT_FILE'),
        keyFile: optional('TEMPORAL_TLS_KEY_FILE'),
        serverName: optional('TEMPORAL_TLS_SERVER_NAME'),
        apiKey: optional('TEMPORAL_API_KEY'),
        apiKeyFile: optional('TEMPORAL_API_KEY_FILE'),
      },
    },
    pubsub: {
      // Local mode always means the emulator: a new shell without the variable must not reach for Google.
      emulatorHost: optional('PUBSUB_EMULATOR_HOST') ?? (local ? DEFAULT_PUBSUB_EMULATOR_HOST : undefined),
      projectId: str('PUBSUB_PROJECT_ID', 'retailflow-local'),
    },
    warehouse: {
      backend: oneOf('WAREHOUSE', ['duckdb', 'bigquery'] as const, 'duckdb'),
      duckdbPath: dir('DUCKDB_PATH', 'data/warehouse.duckdb'),
      bigquery: {
        projectId: str('BIGQUERY_PROJECT', 'retailflow-local'),
        dataset: str('BIGQUERY_DATASET', 'retail'),
        location: str('BIGQUERY_LOCATION', 'US'),
        emulatorHost: optional('BIGQUERY_EMULATOR_HOST'),
      },
    },
    api: { host: str('API_HOST', '127.0.0.1'), port: int('API_PORT', 3000), bodyLimit: int('API_BODY_LIMIT', 1_048_576), security: apiSecurity(env, local) },
    worker: {
      metricsHost: str('WORKER_METRICS_HOST', '127.0.0.1'),
      metricsPort: int('WORKER_METRICS_PORT', 9464),
      healthHost: str('WORKER_HEALTH_HOST', '127.0.0.1'),
      healthPort: int('WORKER_HEALTH_PORT', 9465),
    },
    stream: {
      topic: str('STREAM_TOPIC', 'orders'),
      subscription: str('STREAM_SUBSCRIPTION', 'orders-warehouse'),
      deadLetterTopic: str('STREAM_DLQ_TOPIC', 'orders-dlq'),
      deadLetterSubscription: str('STREAM_DLQ_SUBSCRIPTION', 'orders-dlq-inspect'),
      batchSize: int('STREAM_BATCH_SIZE', 2000),
      batchWaitMs: int('STREAM_BATCH_WAIT_MS', 50),
      maxInFlight: int('STREAM_MAX_IN_FLIGHT', 10000),
      highValueThreshold: decimal('STREAM_HIGH_VALUE_THRESHOLD', '1000'),
      maxMessageBytes: int('STREAM_MAX_MESSAGE_BYTES', 8192),
      healthHost: str('STREAM_HEALTH_HOST', '127.0.0.1'),
      healthPort: int('STREAM_HEALTH_PORT', 9466),
      metricsHost: str('STREAM_METRICS_HOST', '127.0.0.1'),
      metricsPort: int('STREAM_METRICS_PORT', 9467),
      duckdbReleaseMs: int('STREAM_DUCKDB_RELEASE_MS', 0),
    },
    model: {
      storeDir: dir('MODEL_STORE_DIR', 'data/models'),
      promotionMaeTolerance: Number(decimal('PROMOTION_MAE_TOLERANCE', '0')),
      maxArtifactBytes: Number(decimal('MODEL_MAX_ARTIFACT_MB', '50')) * 1e6,
      reloadIntervalMs: int('MODEL_RELOAD_INTERVAL_MS', 2_000),
      infoPath: dir('MODEL_INFO_PATH', 'data/model_info.md'),
    },
    quality: { thresholdsFile: dir('DQ_THRESHOLDS_FILE', DEFAULT_THRESHOLDS_FILE) },
    shop: { timeZone: timeZone(str('SHOP_TIMEZONE', 'Europe/London')) },
    schedules: { intradayEveryMinutes: Math.max(1, int('INTRADAY_REFRESH_MINUTES', 5)) },
    tools: { temporal: optional('TEMPORAL_CLI_PATH'), pubsubEmulator: optional('PUBSUB_EMULATOR_BIN'), bigqueryEmulator: optional('BIGQUERY_EMULATOR_BIN') },
    dataCsv: dir('DATA_CSV', '../shared/data/online_retail.csv.gz'),
    dataDir: dir('DATA_DIR', 'data'),
    logLevel: str('LOG_LEVEL', 'info'),
    logs: {
      maxBytes: int('LOG_MAX_BYTES', 10 * 1024 * 1024),
      maxFiles: int('LOG_MAX_FILES', 5),
      apiAccessLog: readers(env).bool('API_ACCESS_LOG', false),
      apiSlowRequestMs: int('API_SLOW_REQUEST_MS', 500),
      apiSummaryIntervalMs: int('API_SUMMARY_INTERVAL_MS', 60_000),
    },
  };
}

/**
 * BigQuery and Pub/Sub authenticate with Application Default Credentials only. A key file that ADC
 * would read from inside the checkout is one `git add .` from being published, so it is refused.
 */
function refuseCredentialsInRepository(file: string | undefined): void {
  if (file && isInsideRepository(file)) {
    throw new ConfigError(`GOOGLE_APPLICATION_CREDENTIALS ${path.resolve(file)} is inside the repository; keep the key file outside it, or use workload identity / gcloud auth application-default login`);
  }
}

function timeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
  } catch {
    throw new ConfigError(`SHOP_TIMEZONE must be an IANA time zone such as Europe/London, got "${zone}"`);
  }
  return zone;
}

/**
 * Local mode: any emulator configured, or the embedded warehouse with no real GCP project.
 * There the Google clients must never look for the cloud metadata server. In cloud mode the
 * variable is left alone, because Application Default Credentials on GCE/GKE need that server.
 */
export function isLocalMode(env: Env = process.env): boolean {
  if (env.RETAILFLOW_ENV) return env.RETAILFLOW_ENV !== 'cloud';
  return Boolean(env.PUBSUB_EMULATOR_HOST || env.BIGQUERY_EMULATOR_HOST) || (env.WAREHOUSE ?? 'duckdb') === 'duckdb';
}

export function applyLocalModeDefaults(env: NodeJS.ProcessEnv = process.env): void {
  if (isLocalMode(env)) env.METADATA_SERVER_DETECTION ??= 'none';
}
