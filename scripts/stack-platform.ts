/**
 * What `npm start` does once every part is up, beyond supervising processes: publish the
 * endpoints for other shells (run/stack.env) and keep the platform's Schedules.
 */
import * as path from 'node:path';
import { applyPlatformSchedules, type AppliedSchedule } from '../clients/platform-schedules';
import { withTemporalClient } from '../clients/connection';
import type { Config } from '../lib/config';
import { removeStackEnv, writeStackEnv } from '../lib/stack-env';

export function stackEnvFile(config: Config): string {
  return path.join(config.runDir, 'stack.env');
}

/** The endpoints a command in another shell needs; the config loader fills unset variables from them. */
export function publishStackEnv(config: Config): string {
  const file = stackEnvFile(config);
  writeStackEnv(file, {
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    TEMPORAL_UI_HOST: config.temporal.uiHost,
    TEMPORAL_UI_PORT: String(config.temporal.uiPort),
    PUBSUB_EMULATOR_HOST: config.pubsub.emulatorHost,
    PUBSUB_PROJECT_ID: config.pubsub.projectId,
    BIGQUERY_EMULATOR_HOST: config.warehouse.bigquery.emulatorHost,
    WAREHOUSE: config.warehouse.backend,
    DUCKDB_PATH: config.warehouse.duckdbPath,
    API_HOST: config.api.host,
    API_PORT: String(config.api.port),
    WORKER_HEALTH_PORT: String(config.worker.healthPort),
    WORKER_METRICS_PORT: String(config.worker.metricsPort),
    STREAM_HEALTH_PORT: String(config.stream.healthPort),
    STREAM_METRICS_PORT: String(config.stream.metricsPort),
  });
  return file;
}

export function withdrawStackEnv(config: Config): void {
  removeStackEnv(stackEnvFile(config));
}

export async function keepSchedules(config: Config): Promise<AppliedSchedule[]> {
  return withTemporalClient(config, (client) => applyPlatformSchedules(client, config));
}

export function describeSchedules(applied: AppliedSchedule[]): string {
  const rows = applied.map((s) => {
    const next = s.paused ? 'paused' : s.nextRun ? `next ${s.nextRun.toISOString()}` : 'no next run';
    return `  ${s.id.padEnd(17)} ${s.description} (${s.created ? 'created' : 'up to date'}; ${next})`;
  });
  return ['Schedules (npm start -- --no-schedules to leave them alone):', ...rows].join('\n');
}
