/**
 * Benchmark of the random-forest learner (lib/model/forest) on the real Online Retail data.
 * Usage: node dist/bench/forest.js [--file PATH] [--trees 100] [--leaf 12] [--depth N] [--bins 255]
 *        [--max-features 1] [--threads N] [--seed 0] [--extras] [--no-export]
 *
 * One example per sale line (InvoiceNo not starting with 'C', Quantity > 0, UnitPrice > 0); target =
 * the invoice's total gross revenue (sum of Quantity x UnitPrice over its sale lines); features
 * Quantity, UnitPrice, Hour, DayOfWeek (0 = Monday) [+ IsUK, CustomerKnown with --extras].
 * Time split: train < 2011-11-01, test >= 2011-11-01. Writes /tmp/retailflow-forest/{train,test}.csv
 * for bench/sklearn_compare.py (nothing is written to the repository).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../lib/config';
import { openText, readCsvRecords } from '../lib/ingest/csv';
import { headerProblem, parseOrderLine } from '../lib/ingest/orders';
import { trainForest, type ForestParams } from '../lib/model/forest';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const flag = (name: string): boolean => process.argv.includes(name);

interface Line {
  invoice: string;
  quantity: number;
  price: number;
  ts: string;
  uk: number;
  known: number;
}

async function readLines(file: string): Promise<Line[]> {
  const out: Line[] = [];
  let first = true;
  for await (const rec of readCsvRecords(openText(file) as AsyncIterable<string>)) {
    if (first) {
      first = false;
      const problem = headerProblem(rec.fields);
      if (problem) throw new Error(problem);
      continue;
    }
    if (!rec.fields) continue;
    const p = parseOrderLine(rec.fields, 'bench', rec.lineNo);
    if (!p.ok) continue;
    const r = p.row;
    const invoice = String(r.invoice_no);
    const quantity = Number(r.quantity);
    const price = Number(r.unit_price);
    if (invoice.startsWith('C') || !(quantity > 0) || !(price > 0)) continue;
    out.push({ invoice, quantity, price, ts: String(r.invoice_ts), uk: r.country === 'United Kingdom' ? 1 : 0, known: r.customer_id === null ? 0 : 1 });
  }
  return out;
}

function stats(pred: Float64Array, y: Float64Array): { mse: number; mae: number; r2: number } {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i];
  mean /= y.length;
  let se = 0;
  let ae = 0;
  let st = 0;
  for (let i = 0; i < y.length; i++) {
    se += (pred[i] - y[i]) ** 2;
    ae += Math.abs(pred[i] - y[i]);
    st += (y[i] - mean) ** 2;
  }
  return { mse: se / y.length, mae: ae / y.length, r2: 1 - se / st };
}

function fmt(name: string, s: { mse: number; mae: number; r2: number }): string {
  return `${name.padEnd(26)} MSE ${s.mse.toFixed(1).padStart(14)}  MAE ${s.mae.toFixed(2).padStart(9)}  R2 ${s.r2.toFixed(4)}`;
}

async function main(): Promise<void> {
  const file = arg('--file', loadConfig().dataCsv);
  const extras = flag('--extras');
  const names = ['Quantity', 'UnitPrice', 'Hour', 'DayOfWeek', ...(extras ? ['IsUK', 'CustomerKnown'] : [])];
  const d = names.length;
  const params: ForestParams = {
    nTrees: Number(arg('--trees', '100')),
    minSamplesLeaf: Number(arg('--leaf', '12')),
    maxBins: Number(arg('--bins', '255')),
    maxFeatures: Number(arg('--max-features', '1')),
    seed: Number(arg('--seed', '0')),
    threads: Number(arg('--threads', String(os.cpus().length))),
    ...(process.argv.includes('--depth') ? { maxDepth: Number(arg('--depth', '0')) } : {}),
  };
  console.log(`forest benchmark: ${file}, ${os.cpus().length} cores, node ${process.version}`);
  const t0 = Date.now();
  const lines = await readLines(file);
  const revenue = new Map<string, number>();
  for (const l of lines) revenue.set(l.invoice, (revenue.get(l.invoice) ?? 0) + l.quantity * l.price);
  const split = '2011-11-01';
  const trainL = lines.filter((l) => l.ts < split);
  const testL = lines.filter((l) => l.ts >= split);
  const toData = (ls: Line[]): { X: Float64Array; y: Float64Array; lineRev: Float64Array } => {
    const X = new Float64Array(ls.length * d);
    const y = new Float64Array(ls.length);
    const lineRev = new Float64Array(ls.length);
    ls.forEach((l, i) => {
      const t = new Date(l.ts); // shop-local wall time stored as UTC
      const row = [l.quantity, l.price, t.getUTCHours(), (t.getUTCDay() + 6) % 7, l.uk, l.known];
      for (let f = 0; f < d; f++) X[i * d + f] = row[f];
      y[i] = revenue.get(l.invoice) ?? 0;
      lineRev[i] = l.quantity * l.price;
    });
    return { X, y, lineRev };
  };
  const tr = toData(trainL);
  const te = toData(testL);
  console.log(`data: ${lines.length} sale lines read in ${((Date.now() - t0) / 1000).toFixed(1)} s; train ${trainL.length}, test ${testL.length}; features ${names.join(', ')}`);

  if (!flag('--no-export')) {
    const dir = '/tmp/retailflow-forest';
    fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, X: Float64Array, y: Float64Array): void => {
      const parts: string[] = [[...names, 'target'].join(',')];
      for (let i = 0; i < y.length; i++) parts.push([...X.subarray(i * d, (i + 1) * d), y[i]].join(','));
      fs.writeFileSync(path.join(dir, name), parts.join('\n') + '\n');
    };
    write('train.csv', tr.X, tr.y);
    write('test.csv', te.X, te.y);
    console.log(`exported ${dir}/{train,test}.csv`);
  }

  console.log(`params: ${JSON.stringify(params)}`);
  const t1 = process.hrtime.bigint();
  const model = await trainForest({ features: tr.X, target: tr.y, nFeatures: d, featureNames: names }, params);
  const trainS = Number(process.hrtime.bigint() - t1) / 1e9;
  console.log(`training wall time: ${trainS.toFixed(2)} s (${params.threads} threads), ${model.nTrees} trees, ${model.nNodes} nodes`);

  const pred = model.predictMany(te.X, testL.length);
  let trainMean = 0;
  for (let i = 0; i < tr.y.length; i++) trainMean += tr.y[i];
  trainMean /= tr.y.length;
  console.log(fmt('forest (holdout)', stats(pred, te.y)));
  console.log(fmt('baseline: line revenue', stats(te.lineRev, te.y)));
  console.log(fmt('baseline: training mean', stats(new Float64Array(te.y.length).fill(trainMean), te.y)));

  const buf = model.toBuffer();
  console.log(`artifact: ${(buf.length / 1e6).toFixed(2)} MB (${buf.length} bytes, ${(buf.length / 2 ** 20).toFixed(2)} MiB)`);

  const rows = testL.length;
  const walkedMs = timeMs(() => model.walkMany(te.X, rows));
  console.log(`walking the trees: ${rows} holdout rows in ${walkedMs.toFixed(0)} ms (${Math.round(rows / walkedMs * 1000)} rows/s)`);
  console.log(`predictOne walking the trees: ${latency((x) => model.walkOne(x), te.X, rows, d)}`);
  const compileMs = timeMs(() => model.compile());
  if (!model.compiled) console.log(`no threshold grid: more than the cell limit`);
  else {
    console.log(`threshold grid built in ${compileMs.toFixed(0)} ms`);
    const gridMs = timeMs(() => model.predictMany(te.X, rows));
    console.log(`threshold grid: ${rows} holdout rows in ${gridMs.toFixed(1)} ms (${Math.round(rows / gridMs * 1000)} rows/s)`);
    console.log(`predictOne on the threshold grid: ${latency((x) => model.predictOne(x), te.X, rows, d)}`);
  }
}

function timeMs(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** Median and p99 of 100k timed single-row calls over the holdout rows. */
function latency(predict: (x: Float64Array) => number, X: Float64Array, rows: number, d: number): string {
  const N = 100_000;
  const times = new Float64Array(N);
  let sink = 0;
  for (let k = 0; k < 2000; k++) sink += predict(X.subarray((k % rows) * d, (k % rows) * d + d));
  for (let k = 0; k < N; k++) {
    const x = X.subarray((k % rows) * d, (k % rows) * d + d);
    const s = process.hrtime.bigint();
    sink += predict(x);
    times[k] = Number(process.hrtime.bigint() - s);
  }
  times.sort();
  return `median ${(times[N >> 1] / 1000).toFixed(2)} µs, p99 ${(times[Math.floor(N * 0.99)] / 1000).toFixed(2)} µs (checksum ${sink.toFixed(0)})`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
