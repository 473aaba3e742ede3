/** How to start one of this folder's worker_threads scripts, compiled (dist) or from source (ts-node, tests). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WorkerEntry {
  file: string;
  eval: boolean;
  env: NodeJS.ProcessEnv;
}

/** `name` without extension, e.g. 'forest-worker'. */
export function workerEntry(name: string): WorkerEntry {
  const js = path.join(__dirname, `${name}.js`);
  if (!__filename.endsWith('.ts') && fs.existsSync(js)) return { file: js, eval: false, env: process.env };
  const ts = path.join(__dirname, `${name}.ts`);
  // Worker refuses a .ts entry point; register ts-node (transpile only) and require it.
  const tsNode = require.resolve('ts-node', { paths: [__dirname, process.cwd()] });
  const code = `require(${JSON.stringify(tsNode)}).register({ transpileOnly: true }); require(${JSON.stringify(ts)});`;
  return { file: code, eval: true, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' } };
}
