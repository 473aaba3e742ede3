/** Runs the built CLI (node dist/tools/cli.js) as users do, in its own process. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../lib/config';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'tools', 'cli.js');

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

/** Async on purpose: an in-process test worker needs this event loop while the CLI waits on it. */
/** `cleanEnv`: the child gets only `env` (a new shell), not this process's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000, opts: { cleanEnv?: boolean } = {}): Promise<CliRun> {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run "npm run build" first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.cleanEnv ? env : { ...process.env, ...env }, timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
