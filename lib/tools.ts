/**
 * Where the external tools live. `scripts/setup.sh` installs them once per user into a cache
 * directory and links them into `<repo>/.tools/bin`; an env var overrides each path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, PROJECT_ROOT, type Config } from './config';

export type ToolName = 'temporal' | 'pubsub-emulator' | 'bigquery-emulator';

const ENV_OVERRIDE: Record<ToolName, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'pubsub-emulator': 'PUBSUB_EMULATOR_BIN',
  'bigquery-emulator': 'BIGQUERY_EMULATOR_BIN',
};

const OVERRIDE_FIELD: Record<ToolName, keyof Config['tools']> = {
  temporal: 'temporal',
  'pubsub-emulator': 'pubsubEmulator',
  'bigquery-emulator': 'bigqueryEmulator',
};

export function toolPath(name: ToolName, overrides: Config['tools'] = loadConfig().tools): string {
  const override = overrides[OVERRIDE_FIELD[name]];
  const candidate = override || path.join(PROJECT_ROOT, '.tools', 'bin', name);
  if (!fs.existsSync(candidate)) {
    throw new Error(
      `${name} not found at ${candidate}. Run "npm run setup" (or set ${ENV_OVERRIDE[name]} to its path).`,
    );
  }
  return candidate;
}
