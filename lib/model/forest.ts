/**
 * Random-forest regressor with a histogram-based CART split finder.
 *
 * - Per feature, at most `maxBins` quantile bins are computed once from the training data; the bin
 *   boundaries are split thresholds in raw units (midpoints between neighbouring distinct values), so
 *   prediction walks raw values and needs no binning.
 * - X is binned once into a Uint8Array (row-major: one sample's features are adjacent, which is the
 *   access pattern of histogram building over a node's sample subset).
 * - Each tree draws a bootstrap sample from mulberry32 seeded by (seed, tree index): the forest is
 *   identical whatever the thread count.
 * - At each node per-bin sum/count histograms are scanned for the split that maximises the SSE
 *   reduction; only the smaller child's histogram is built, the larger one is parent minus smaller.
 * - Trees are trained in worker_threads sharing the binned data through SharedArrayBuffers.
 * - Trees are stored flat in pre-order (left child = node + 1): feature Int16 (-1 = leaf),
 *   right child Int32, and one Float64 that is the threshold of a split node or the value of a leaf.
 */
import { mulberry32 } from '../random';
import { DEFAULT_MAX_CELLS, FlatForest, ForestTable, TableParts } from './forest-table';
import { workerEntry } from './worker-entry';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';

export interface ForestParams {
  nTrees: number;
  maxDepth?: number;
  minSamplesLeaf: number;
  /** Fraction 0..1 of the features considered at each split, default 1. */
  maxFeatures?: number;
  /** Default 255, at most 256. */
  maxBins?: number;
  seed: number;
  /** Default os.cpus().length; 1 trains in-process. */
  threads?: number;
}

export interface TrainingData {
  /** Row-major, n x d. */
  features: Float64Array;
  target: Float64Array;
  nFeatures: number;
  featureNames: string[];
}

/** Binned training data, shareable with workers. */
export interface BinnedData {
  n: number;
  d: number;
  /** Row-major n x d bin indices. */
  bins: Uint8Array;
  target: Float64Array;
  /** Per feature: thresholds[thrOffset[f] .. thrOffset[f+1]) ascending; bin b of f means x <= thr[b]. */
  thresholds: Float64Array;
  thrOffset: Int32Array;
}

export interface TreeArrays {
  feature: Int16Array;
  right: Int32Array;
  value: Float64Array;
}

interface ResolvedParams {
  nTrees: number;
  maxDepth: number;
  minSamplesLeaf: number;
  mtry: number;
  seed: number;
}

const MAGIC = 'RFRG';
const FORMAT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// PRNG (lib/random.ts)

export { mulberry32 };

function treeSeed(seed: number, tree: number): number {
  return (Math.imul((seed >>> 0) ^ 0x85ebca6b, 0x9e3779b1) ^ Math.imul(tree + 1, 0xc2b2ae35)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Binning

function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Midpoint strictly between a < b such that a <= t < b. */
function between(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m >= b || m < a ? a : m;
}

export function binData(data: TrainingData, maxBins: number): BinnedData {
  const d = data.nFeatures;
  const n = data.target.length;
  if (!Number.isInteger(d) || d < 1 || d > 32767) throw new Error(`nFeatures must be an integer in 1..32767, got ${d}`);
  if (data.features.length !== n * d) throw new Error(`features has ${data.features.length} values, expected ${n} x ${d}`);
  if (data.featureNames.length !== d) throw new Error(`featureNames has ${data.featureNames.length} names, expected ${d}`);
  if (n < 1) throw new Error('no training rows');
  for (let i = 0; i < n; i++) if (!Number.isFinite(data.target[i])) throw new Error(`target[${i}] is not finite`);
  const thrLists: Float64Array[] = [];
  const col = new Float64Array(n);
  for (let f = 0; f < d; f++) {
    for (let i = 0; i < n; i++) {
      const v = data.features[i * d + f];
      if (!Number.isFinite(v)) throw new Error(`feature ${data.featureNames[f]} of row ${i} is not finite`);
      col[i] = v;
    }
    col.sort();
    const thr: number[] = [];
    for (let j = 1; j < maxBins; j++) {
      const pos = Math.floor((j * n) / maxBins) - 1;
      if (pos < 0) continue;
      const v = col[pos];
      const ub = upperBound(col, v);
      if (ub >= n) break;
      const t = between(v, col[ub]);
      if (thr.length === 0 || t > thr[thr.length - 1]) thr.push(t);
    }
    // Few distinct values: quantile cuts can miss some; use every boundary then.
    let distinct = 1;
    for (let i = 1; i < n && distinct <= maxBins; i++) if (col[i] !== col[i - 1]) distinct++;
    if (distinct <= maxBins) {
      thr.length = 0;
      for (let i = 1; i < n; i++) if (col[i] !== col[i - 1]) thr.push(between(col[i - 1], col[i]));
    }
    thrLists.push(Float64Array.from(thr));
  }
  const thrOffset = new Int32Array(d + 1);
  for (let f = 0; f < d; f++) thrOffset[f + 1] = thrOffset[f] + thrLists[f].length;
  const thresholds = new Float64Array(new SharedArrayBuffer(Math.max(8, thrOffset[d] * 8)), 0, thrOffset[d]);
  for (let f = 0; f < d; f++) thresholds.set(thrLists[f], thrOffset[f]);
  const bins = new Uint8Array(new SharedArrayBuffer(n * d));
  for (let f = 0; f < d; f++) {
    const thr = thrLists[f];
    for (let i = 0; i < n; i++) {
      const v = data.features[i * d + f];
      // bin = number of thresholds < v
      let lo = 0;
      let hi = thr.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (thr[mid] < v) lo = mid + 1;
        else hi = mid;
      }
      bins[i * d + f] = lo;
    }
  }
  const target = new Float64Array(new SharedArrayBuffer(n * 8));
  target.set(data.target);
  return { n, d, bins, target, thresholds, thrOffset };
}

// ---------------------------------------------------------------------------------------------
// One tree

export interface TreeJob {
  maxDepth: number;
  minSamplesLeaf: number;
  mtry: number;
  seed: number;
}

/** Growable node storage. */
class NodeSink {
  feature = new Int16Array(1024);
  right = new Int32Array(1024);
  value = new Float64Array(1024);
  size = 0;
  add(): number {
    if (this.size === this.feature.length) {
      const cap = this.size * 2;
      const f = new Int16Array(cap);
      f.set(this.feature);
      const r = new Int32Array(cap);
      r.set(this.right);
      const v = new Float64Array(cap);
      v.set(this.value);
      this.feature = f;
      this.right = r;
      this.value = v;
    }
    return this.size++;
  }
  finish(): TreeArrays {
    return { feature: this.feature.slice(0, this.size), right: this.right.slice(0, this.size), value: this.value.slice(0, this.size) };
  }
}

export function buildTree(data: BinnedData, job: TreeJob, treeIndex: number): TreeArrays {
  const { n, d, bins, target: y, thresholds, thrOffset } = data;
  const rand = mulberry32(treeSeed(job.seed, treeIndex));
  // Bootstrap of n draws as per-row weights (as scikit-learn): a node holds distinct rows, its
  // sums are weighted by the draw counts, and minSamplesLeaf counts distinct rows.
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[Math.floor(rand() * n)] += 1;
  let m = 0;
  for (let i = 0; i < n; i++) if (w[i] > 0) m++;
  const idx = new Int32Array(m);
  for (let i = 0, j = 0; i < n; i++) if (w[i] > 0) idx[j++] = i;

  // Histogram layout: per feature f, bins at [hOff[f], hOff[f] + nBins(f)).
  const hOff = new Int32Array(d + 1);
  for (let f = 0; f < d; f++) hOff[f + 1] = hOff[f] + (thrOffset[f + 1] - thrOffset[f] + 1);
  const hLen = hOff[d];
  const pool: Float64Array[] = [];
  const take = (): Float64Array => pool.pop() ?? new Float64Array(hLen * 3);
  const give = (h: Float64Array): void => {
    pool.push(h);
  };
  const build = (h: Float64Array, lo: number, hi: number): void => {
    h.fill(0);
    for (let i = lo; i < hi; i++) {
      const r = idx[i];
      const wr = w[r];
      const wy = wr * y[r];
      const base = r * d;
      for (let f = 0; f < d; f++) {
        const k = (hOff[f] + bins[base + f]) * 3;
        h[k] += wy;
        h[k + 1] += wr;
        h[k + 2] += 1;
      }
    }
  };
  const featOrder = new Int32Array(d);
  for (let f = 0; f < d; f++) featOrder[f] = f;
  const minLeaf = Math.max(1, job.minSamplesLeaf);
  const sink = new NodeSink();

  const grow = (lo: number, hi: number, h: Float64Array, depth: number): void => {
    const node = sink.add();
    const cnt = hi - lo; // distinct rows
    // Totals from feature 0's histogram.
    let S = 0;
    let W = 0;
    for (let k = hOff[0]; k < hOff[1]; k++) {
      S += h[k * 3];
      W += h[k * 3 + 1];
    }
    const mean = S / W;
    sink.feature[node] = -1;
    sink.right[node] = -1;
    sink.value[node] = mean;
    if (depth >= job.maxDepth || cnt < 2 * minLeaf) return;
    // Choose mtry features (partial Fisher-Yates) when subsampling.
    if (job.mtry < d) {
      for (let j = 0; j < job.mtry; j++) {
        const k = j + Math.floor(rand() * (d - j));
        const t = featOrder[j];
        featOrder[j] = featOrder[k];
        featOrder[k] = t;
      }
    }
    const base = (S * S) / W;
    let bestGain = 1e-12 * (Math.abs(base) + 1);
    let bestF = -1;
    let bestB = -1;
    for (let j = 0; j < job.mtry; j++) {
      const f = featOrder[j];
      const o = hOff[f];
      const nb = hOff[f + 1] - o;
      let sL = 0;
      let wL = 0;
      let cL = 0;
      for (let b = 0; b < nb - 1; b++) {
        const k = (o + b) * 3;
        sL += h[k];
        wL += h[k + 1];
        cL += h[k + 2];
        if (cL < minLeaf) continue;
        const cR = cnt - cL;
        if (cR < minLeaf) break;
        const sR = S - sL;
        const gain = (sL * sL) / wL + (sR * sR) / (W - wL) - base;
        if (gain > bestGain) {
          bestGain = gain;
          bestF = f;
          bestB = b;
        }
      }
    }
    if (bestF < 0) return;
    // Partition idx[lo, hi) into bin <= bestB | bin > bestB.
    let i = lo;
    let j = hi - 1;
    while (i <= j) {
      if (bins[idx[i] * d + bestF] <= bestB) i++;
      else {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        j--;
      }
    }
    const mid = i;
    sink.feature[node] = bestF;
    sink.value[node] = thresholds[thrOffset[bestF] + bestB];
    const small = take();
    const leftSmaller = mid - lo <= hi - mid;
    if (leftSmaller) build(small, lo, mid);
    else build(small, mid, hi);
    for (let k = 0; k < h.length; k++) h[k] -= small[k]; // h becomes the larger child
    const hLeft = leftSmaller ? small : h;
    const hRight = leftSmaller ? h : small;
    grow(lo, mid, hLeft, depth + 1);
    sink.right[node] = sink.size;
    grow(mid, hi, hRight, depth + 1);
    give(small);
  };

  const root = take();
  build(root, 0, m);
  grow(0, m, root, 0);
  return sink.finish();
}

// ---------------------------------------------------------------------------------------------
// Model

export class RandomForestModel {
  readonly featureNames: string[];
  readonly params: ForestParams;
  /** Root node index of each tree in the flat arrays. */
  private readonly roots: Int32Array;
  private readonly feature: Int16Array;
  private readonly right: Int32Array;
  private readonly value: Float64Array;
  private table: ForestTable | undefined;

  constructor(featureNames: string[], params: ForestParams, roots: Int32Array, feature: Int16Array, right: Int32Array, value: Float64Array) {
    this.featureNames = featureNames.slice();
    this.params = { ...params };
    this.roots = roots;
    this.feature = feature;
    this.right = right;
    this.value = value;
  }

  static fromTrees(featureNames: string[], params: ForestParams, trees: TreeArrays[]): RandomForestModel {
    let total = 0;
    for (const t of trees) total += t.feature.length;
    const roots = new Int32Array(trees.length);
    const feature = new Int16Array(total);
    const right = new Int32Array(total);
    const value = new Float64Array(total);
    let off = 0;
    trees.forEach((t, k) => {
      roots[k] = off;
      feature.set(t.feature, off);
      value.set(t.value, off);
      for (let i = 0; i < t.right.length; i++) right[off + i] = t.right[i] < 0 ? -1 : t.right[i] + off;
      off += t.feature.length;
    });
    return new RandomForestModel(featureNames, params, roots, feature, right, value);
  }

  get nTrees(): number {
    return this.roots.length;
  }

  get nNodes(): number {
    return this.feature.length;
  }

  /**
   * Evaluate the forest ahead of time on its threshold grid (lib/model/forest-table.ts) when the
   * grid has at most `maxCells` cells; predictions stay bit-for-bit the same and get ~100x faster.
   * Returns whether the table was built. Servers call this once per loaded model.
   */
  compile(maxCells = DEFAULT_MAX_CELLS): boolean {
    this.table ??= ForestTable.build(this.flat(), maxCells);
    return this.table !== undefined;
  }

  /**
   * compile() in a worker thread, so a server loading a new model keeps answering requests (the
   * grid takes 0.3-0.5 s of CPU). The trees are copied to the worker; the table comes back
   * transferred. Resolves to whether the table was built.
   */
  async compileOffThread(maxCells = DEFAULT_MAX_CELLS): Promise<boolean> {
    if (this.table) return true;
    const parts = await buildTableInWorker(this.flat(), maxCells);
    this.table ??= parts ? ForestTable.fromParts(parts) : undefined;
    return this.table !== undefined;
  }

  /** For servers: parse an artifact and compile it off the event loop (in this thread if a worker cannot start). */
  static async loadCompiled(buf: Buffer): Promise<RandomForestModel> {
    const model = RandomForestModel.fromBuffer(buf);
    await model.compileOffThread().catch(() => model.compile());
    return model;
  }

  get compiled(): boolean {
    return this.table !== undefined;
  }

  predictOne(x: ArrayLike<number>): number {
    return this.table ? this.table.predictOne(x) : this.walkOne(x);
  }

  predictMany(features: Float64Array, n: number): Float64Array {
    const d = this.featureNames.length;
    if (features.length < n * d) throw new Error(`predictMany: features has ${features.length} values, expected ${n} x ${d}`);
    return this.table ? this.table.predictMany(features, n) : this.walkMany(features, n);
  }

  /** The trees walked one by one: the reference the table must equal. */
  walkOne(x: ArrayLike<number>): number {
    const { roots, feature, right, value } = this;
    let sum = 0;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t];
      let f = feature[node];
      while (f >= 0) {
        node = x[f] <= value[node] ? node + 1 : right[node];
        f = feature[node];
      }
      sum += value[node];
    }
    return sum / roots.length;
  }

  /** Tree by tree over all rows, which keeps one tree's nodes in cache (1.5x faster than row by row). */
  walkMany(features: Float64Array, n: number): Float64Array {
    const { roots, feature, right, value } = this;
    const d = this.featureNames.length;
    const out = new Float64Array(n);
    for (let t = 0; t < roots.length; t++) {
      const root = roots[t];
      for (let i = 0, base = 0; i < n; i++, base += d) {
        let node = root;
        let f = feature[node];
        while (f >= 0) {
          node = features[base + f] <= value[node] ? node + 1 : right[node];
          f = feature[node];
        }
        out[i] += value[node];
      }
    }
    for (let i = 0; i < n; i++) out[i] /= roots.length;
    return out;
  }

  private flat(): FlatForest {
    return { roots: this.roots, feature: this.feature, right: this.right, value: this.value, nFeatures: this.featureNames.length };
  }

  /**
   * Layout (little endian): "RFRG" | u32 version | u32 header JSON byte length | header JSON |
   * zero padding to 8 | Float64 value[nNodes] | Int32 roots[nTrees] | Int32 right[nNodes] | Int16 feature[nNodes].
   */
  toBuffer(): Buffer {
    const header = Buffer.from(
      JSON.stringify({ featureNames: this.featureNames, params: this.params, nTrees: this.roots.length, nNodes: this.feature.length }),
      'utf8',
    );
    const headEnd = align8(12 + header.length);
    const nNodes = this.feature.length;
    const total = headEnd + nNodes * 8 + this.roots.length * 4 + nNodes * 4 + nNodes * 2;
    const buf = Buffer.alloc(total);
    buf.write(MAGIC, 0, 'latin1');
    buf.writeUInt32LE(FORMAT_VERSION, 4);
    buf.writeUInt32LE(header.length, 8);
    header.copy(buf, 12);
    let off = headEnd;
    for (const arr of [this.value, this.roots, this.right, this.feature]) {
      const bytes = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
      bytes.copy(buf, off);
      off += arr.byteLength;
    }
    return buf;
  }

  static fromBuffer(buf: Buffer): RandomForestModel {
    const bad = (why: string): Error => new Error(`not a RandomForestModel buffer: ${why}`);
    if (buf.length < 12) throw bad(`only ${buf.length} bytes`);
    const magic = buf.toString('latin1', 0, 4);
    if (magic !== MAGIC) throw bad(`magic is ${JSON.stringify(magic)}, expected ${JSON.stringify(MAGIC)}`);
    const version = buf.readUInt32LE(4);
    if (version !== FORMAT_VERSION) throw bad(`format version ${version} is not supported (expected ${FORMAT_VERSION})`);
    const hLen = buf.readUInt32LE(8);
    if (12 + hLen > buf.length) throw bad(`header length ${hLen} exceeds the buffer`);
    let header: { featureNames: string[]; params: ForestParams; nTrees: number; nNodes: number };
    try {
      header = JSON.parse(buf.toString('utf8', 12, 12 + hLen)) as typeof header;
    } catch (e) {
      throw bad(`header is not valid JSON (${(e as Error).message})`);
    }
    const { featureNames, params, nTrees, nNodes } = header ?? ({} as typeof header);
    if (!Array.isArray(featureNames) || !featureNames.every((s) => typeof s === 'string')) throw bad('featureNames missing');
    if (typeof params !== 'object' || params === null || typeof params.nTrees !== 'number') throw bad('params missing');
    if (!Number.isInteger(nTrees) || nTrees < 1 || !Number.isInteger(nNodes) || nNodes < nTrees) throw bad('bad tree/node counts');
    const headEnd = align8(12 + hLen);
    const expected = headEnd + nNodes * 8 + nTrees * 4 + nNodes * 4 + nNodes * 2;
    if (buf.length !== expected) throw bad(`size is ${buf.length} bytes, header implies ${expected}`);
    // Copy into fresh aligned arrays.
    let off = headEnd;
    const slice = (bytes: number): ArrayBuffer => {
      const ab = new ArrayBuffer(bytes);
      new Uint8Array(ab).set(buf.subarray(off, off + bytes));
      off += bytes;
      return ab;
    };
    const value = new Float64Array(slice(nNodes * 8));
    const roots = new Int32Array(slice(nTrees * 4));
    const right = new Int32Array(slice(nNodes * 4));
    const feature = new Int16Array(slice(nNodes * 2));
    // Structural checks so predict can neither loop nor read out of range.
    const d = featureNames.length;
    for (let t = 0; t < nTrees; t++) if (roots[t] < 0 || roots[t] >= nNodes) throw bad(`root ${t} out of range`);
    for (let i = 0; i < nNodes; i++) {
      const f = feature[i];
      if (f >= 0) {
        if (f >= d) throw bad(`node ${i} uses feature ${f} of ${d}`);
        if (i + 1 >= nNodes || right[i] <= i + 1 || right[i] >= nNodes) throw bad(`node ${i} has bad children`);
      } else if (f !== -1) throw bad(`node ${i} has feature ${f}`);
    }
    return new RandomForestModel(featureNames, params, roots, feature, right, value);
  }
}

function align8(x: number): number {
  return (x + 7) & ~7;
}

// ---------------------------------------------------------------------------------------------
// Training

function resolve(params: ForestParams, d: number): ResolvedParams {
  const { nTrees, minSamplesLeaf, seed } = params;
  if (!Number.isInteger(nTrees) || nTrees < 1) throw new Error(`nTrees must be a positive integer, got ${nTrees}`);
  if (!Number.isInteger(minSamplesLeaf) || minSamplesLeaf < 1) throw new Error(`minSamplesLeaf must be a positive integer, got ${minSamplesLeaf}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const maxDepth = params.maxDepth ?? Number.POSITIVE_INFINITY;
  if (!(maxDepth >= 0)) throw new Error(`maxDepth must be >= 0, got ${params.maxDepth}`);
  const frac = params.maxFeatures ?? 1;
  if (!(frac > 0 && frac <= 1)) throw new Error(`maxFeatures must be a fraction in (0, 1], got ${frac}`);
  return { nTrees, maxDepth, minSamplesLeaf, seed, mtry: Math.max(1, Math.min(d, Math.round(frac * d))) };
}

export async function trainForest(
  data: TrainingData,
  params: ForestParams,
  onProgress?: (treesDone: number, nTrees: number) => void,
): Promise<RandomForestModel> {
  const maxBins = params.maxBins ?? 255;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 256) throw new Error(`maxBins must be an integer in 2..256, got ${maxBins}`);
  const rp = resolve(params, data.nFeatures);
  // threads is an execution setting, not part of the model: the forest is the same for any value.
  const { threads: requestedThreads, ...modelParams } = params;
  const stored: ForestParams = { ...modelParams, maxBins, maxFeatures: params.maxFeatures ?? 1 };
  const binned = binData(data, maxBins);
  const job: TreeJob = { maxDepth: rp.maxDepth, minSamplesLeaf: rp.minSamplesLeaf, mtry: rp.mtry, seed: rp.seed };
  const threads = Math.max(1, Math.min(requestedThreads ?? os.cpus().length, rp.nTrees));
  const trees: TreeArrays[] = new Array<TreeArrays>(rp.nTrees);
  let done = 0;
  if (threads === 1) {
    for (let t = 0; t < rp.nTrees; t++) {
      trees[t] = buildTree(binned, job, t);
      onProgress?.(++done, rp.nTrees);
      if (t % 4 === 3) await new Promise<void>((r) => setImmediate(r));
    }
  } else {
    await trainInWorkers(binned, job, rp.nTrees, threads, (t, tree) => {
      trees[t] = tree;
      onProgress?.(++done, rp.nTrees);
    });
  }
  return RandomForestModel.fromTrees(data.featureNames, stored, trees);
}

export interface WorkerInit {
  data: BinnedData;
  job: TreeJob;
}

export type WorkerReply = { tree: number; feature: Int16Array; right: Int32Array; value: Float64Array } | { error: string };

function trainInWorkers(data: BinnedData, job: TreeJob, nTrees: number, threads: number, onTree: (t: number, tree: TreeArrays) => void): Promise<void> {
  const script = workerEntry('forest-worker');
  const workerData: WorkerInit = { data, job: { ...job, maxDepth: Number.isFinite(job.maxDepth) ? job.maxDepth : 1e9 } };
  return new Promise<void>((resolvePromise, reject) => {
    let next = 0;
    let finished = 0;
    let failed = false;
    const workers: Worker[] = [];
    const retired = new Set<Worker>();
    const stop = (w: Worker): void => {
      retired.add(w);
      void w.terminate();
    };
    const stopAll = (): void => {
      for (const w of workers) stop(w);
    };
    const feed = (w: Worker): void => {
      if (next < nTrees) w.postMessage(next++);
      else stop(w);
    };
    for (let k = 0; k < threads; k++) {
      const w = new Worker(script.file, { eval: script.eval, workerData, env: script.env });
      workers.push(w);
      w.on('message', (msg: WorkerReply) => {
        if (failed) return;
        if ('error' in msg) {
          failed = true;
          stopAll();
          reject(new Error(`forest worker failed: ${msg.error}`));
          return;
        }
        onTree(msg.tree, { feature: msg.feature, right: msg.right, value: msg.value });
        finished++;
        if (finished === nTrees) {
          stopAll();
          resolvePromise();
        } else feed(w);
      });
      w.on('error', (e) => {
        if (failed) return;
        failed = true;
        stopAll();
        reject(e);
      });
      w.on('exit', (code) => {
        if (!failed && !retired.has(w) && finished < nTrees) {
          failed = true;
          stopAll();
          reject(new Error(`forest worker exited with code ${code}`));
        }
      });
      feed(w);
    }
  });
}

export interface TableJob {
  forest: FlatForest;
  maxCells: number;
}

export type TableReply = { parts: TableParts | null } | { error: string };

function buildTableInWorker(forest: FlatForest, maxCells: number): Promise<TableParts | undefined> {
  const script = workerEntry('forest-table-worker');
  const job: TableJob = { forest, maxCells };
  return new Promise((resolve, reject) => {
    const worker = new Worker(script.file, { eval: script.eval, workerData: job, env: script.env });
    let settled = false;
    worker.once('message', (reply: TableReply) => {
      settled = true;
      void worker.terminate();
      if ('error' in reply) reject(new Error(`forest table worker failed: ${reply.error}`));
      else resolve(reply.parts ?? undefined);
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`forest table worker exited with code ${code} before replying`));
    });
  });
}
