/**
 * `npm run bench`: every bench in its own process, one after another (the machine has 2 cores),
 * then the speed issue's goals against what was measured, with the bare-DuckDB anchor measured in
 * the same run so the ingest ratio compares like with like.
 *
 *   npm run bench [-- --quick] [-- --write]
 *
 * --quick: short runs (about 2 minutes) to see that everything works; the numbers are rougher.
 * --write: put the table into docs/benchmarks.md between its bench markers.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig, PROJECT_ROOT } from '../lib/config';
import { benchTable, replaceBenchSection, type Results } from './report';
import { RESULT_PREFIX, type BenchMetrics } from './result';

const USAGE = 'usage: npm run bench [-- --quick] [-- --write]';

interface Step {
  bench: keyof Results;
  args: string[];
}

function steps(quick: boolean): Step[] {
  return [
    { bench: 'ingest', args: ['--runs', quick ? '1' : '3'] },
    { bench: 'backfill', args: ['--singles', quick ? '5' : '20', '--concurrency', '32'] },
    { bench: 'api', args: ['--seconds', quick ? '3' : '10'] },
    { bench: 'stream', args: ['--rate', '5000', '--seconds', quick ? '5' : '20'] },
  ];
}

/** Runs one bench, echoing its lines; resolves with the metrics of its result line. */
function runBench(step: Step, label: string): Promise<BenchMetrics> {
  const script = path.join(PROJECT_ROOT, 'dist-bench', 'bench', `${step.bench}.js`);
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run "npm run build:bench" (npm run bench does)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...step.args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let metrics: BenchMetrics | undefined;
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(RESULT_PREFIX)) metrics = JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchMetrics;
        else console.log(`${label} ${line}`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && metrics) resolve(metrics);
      else reject(new Error(`${step.bench} bench ${code === 0 ? 'printed no result line' : `exited with ${code}`}`));
    });
  });
}

/** The anchor: DuckDB reading the same .gz into a table with the timestamp parsed, nothing else. */
async function bareDuckdbReadCsv(file: string): Promise<BenchMetrics> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-anchor-'));
  try {
    const instance = await DuckDBInstance.create(path.join(dir, 'anchor.duckdb'));
    const conn = await instance.connect();
    const t0 = performance.now();
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_csv('${file.replace(/'/g, "''")}', header = true, timestampformat = '%m/%d/%Y %H:%M')`);
    conn.closeSync();
    instance.closeSync(); // the checkpoint to disk, as the ingest bench includes it
    return { duckdb_read_csv_s: (performance.now() - t0) / 1000 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version.slice(1)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, write: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const plan = steps(values.quick);
  const results: Results = {};
  const total = plan.length + 1;
  console.log(`[1/${total}] anchor: bare DuckDB read_csv of the data file`);
  results.anchor = await bareDuckdbReadCsv(loadConfig().dataCsv);
  console.log(`[1/${total}] ${results.anchor.duckdb_read_csv_s.toFixed(2)} s`);
  for (const [i, step] of plan.entries()) {
    const label = `[${i + 2}/${total}] ${step.bench}`;
    console.log(`${label}: node dist-bench/bench/${step.bench}.js ${step.args.join(' ')}`);
    results[step.bench] = await runBench(step, label);
  }
  const command = `npm run bench${values.quick ? ' -- --quick' : ''}`;
  const table = benchTable(results, { date: new Date().toISOString().slice(0, 10), machine: machine(), command });
  console.log(`\n${table}`);
  if (values.write) {
    const doc = path.join(PROJECT_ROOT, 'docs', 'benchmarks.md');
    fs.writeFileSync(doc, replaceBenchSection(fs.readFileSync(doc, 'utf8'), table));
    console.log(`\nwrote the table into ${path.relative(PROJECT_ROOT, doc)}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
