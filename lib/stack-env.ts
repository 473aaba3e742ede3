/**
 * `run/stack.env`: the endpoints a running `npm start` started, so that a command in any other
 * shell finds them with nothing exported. The stack writes it once everything is up and removes
 * it on stop; the config loader reads it, and a variable set in the environment always wins.
 *
 * Format: KEY=VALUE lines, as Node's own `util.parseEnv` reads them (no hand-written parser).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEnv } from 'node:util';
import { writeFileAtomicSync } from './files';
import { PROJECT_ROOT } from './paths';

type Env = Readonly<Record<string, string | undefined>>;

/** The keys the stack publishes; nothing else in the file is applied. */
export const STACK_ENV_KEYS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_UI_HOST',
  'TEMPORAL_UI_PORT',
  'PUBSUB_EMULATOR_HOST',
  'PUBSUB_PROJECT_ID',
  'BIGQUERY_EMULATOR_HOST',
  'WAREHOUSE',
  'DUCKDB_PATH',
  'API_HOST',
  'API_PORT',
  'WORKER_HEALTH_PORT',
  'WORKER_METRICS_PORT',
  'STREAM_HEALTH_PORT',
  'STREAM_METRICS_PORT',
] as const;

/** RETAILFLOW_STACK_ENV names another file, or `none` to ignore it (the test suite does). */
export function stackEnvPath(env: Env): string | undefined {
  const configured = env.RETAILFLOW_STACK_ENV;
  if (configured === 'none') return undefined;
  if (configured) return path.resolve(PROJECT_ROOT, configured);
  return path.resolve(PROJECT_ROOT, env.RUN_DIR || 'run', 'stack.env');
}

export function readStackEnv(file: string | undefined): Record<string, string> {
  if (!file) return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const parsed = parseEnv(text) as Record<string, string>;
  const known: Record<string, string> = {};
  for (const key of STACK_ENV_KEYS) if (parsed[key]) known[key] = parsed[key];
  return known;
}

export function writeStackEnv(file: string, values: Partial<Record<(typeof STACK_ENV_KEYS)[number], string>>): void {
  const lines = STACK_ENV_KEYS.filter((k) => values[k] !== undefined).map((k) => `${k}=${values[k]}`);
  writeFileAtomicSync(file, `# Written by npm start (scripts/stack.ts) while the stack runs; removed on stop.\n${lines.join('\n')}\n`);
}

export function removeStackEnv(file: string): void {
  fs.rmSync(file, { force: true });
}

/** The environment with the running stack's endpoints filled in where the variable is unset. */
export function withStackEnv(env: Env): Env {
  const fromStack = readStackEnv(stackEnvPath(env));
  const merged: Record<string, string | undefined> = { ...fromStack };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}
