/**
 * The workflow bundle, built once by `npm run build` (scripts/bundle-workflows.ts) instead of by
 * every worker at start-up: a worker then starts ~1.5 s sooner and without webpack in memory, which
 * matters when workers are restarted (deployments, crashes, the fault-injection suite).
 *
 * A stale bundle would run old workflow code against new activities, so a worker uses it only when
 * it is newer than every compiled module a workflow can import (dist/workflows and dist/lib, a
 * superset); otherwise it bundles at start, as before, and says why.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PROJECT_ROOT } from '../config';
import { writeFileAtomicSync } from '../files';

const DIST = path.join(PROJECT_ROOT, 'dist');
export const WORKFLOW_BUNDLE_FILE = path.join(DIST, 'workflow-bundle.js');
const BUNDLE_INPUTS = [path.join(DIST, 'workflows'), path.join(DIST, 'lib')];

export async function writeWorkflowBundle(file = WORKFLOW_BUNDLE_FILE): Promise<{ file: string; bytes: number }> {
  // webpack's module listing is noise in a build log; warnings and errors still show.
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  writeFileAtomicSync(file, code);
  return { file, bytes: Buffer.byteLength(code) };
}

export type BundleChoice = { codePath: string } | { stale: string };

/** The prebuilt bundle when it is up to date, else the reason to bundle at start. */
export function prebuiltWorkflowBundle(file = WORKFLOW_BUNDLE_FILE, inputs = BUNDLE_INPUTS): BundleChoice {
  if (!fs.existsSync(file)) return { stale: `${file} does not exist (npm run build writes it)` };
  const builtAt = fs.statSync(file).mtimeMs;
  const newer = inputs.flatMap((dir) => jsFiles(dir)).find((f) => fs.statSync(f).mtimeMs > builtAt);
  return newer ? { stale: `${newer} is newer than ${file}` } : { codePath: file };
}

function jsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}
