/**
 * Where the external tools live. `scripts/setup.sh` installs them once per user into a cache
 * directory and links them into `<repo>/.tools/bin`; an env var overrides each path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './config';

export type ToolName = 'temporal' | 'pubsub-emulator' | 'bigquery-emulator';

const ENV_OVERRIDE: Record<ToolName, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'pubsub-emulator': 'PUBSUB_EMULATOR_BIN',
  'bigquery-emulator': 'BIGQUERY_EMULATOR_BIN',
};

export function toolPath(name: ToolName): string {
  const override = process.env[ENV_OVERRIDE[name]];
  const candidate = override || path.join(PROJECT_ROOT, '.tools', 'bin', name);
  if (!fs.existsSync(candidate)) {
    throw new Error(
      `${name} not found at ${candidate}. Run "npm run setup" (or set ${ENV_OVERRIDE[name]} to its path).`,
    );
  }
  return candidate;
}
