/**
 * A forest evaluated ahead of time on its own threshold grid.
 *
 * A forest's output can only change where some split threshold lies, so per feature the sorted
 * distinct thresholds of its split nodes cut the axis into cells, and the prediction is constant on
 * every cell of the product grid. The revenue model uses few distinct thresholds (29 for quantity,
 * 70 for unit price, 13 for hour, 5 weekdays and two flags: 715,680 cells, 5.7 MB), so filling that
 * grid once turns a prediction into one binary search per feature and one table read, instead of
 * 100 root-to-leaf walks whose branches the CPU cannot predict (~1,800 nodes per row).
 *
 * The table is exact, not an approximation: every cell gets its trees' leaf values added in tree
 * order and divided by the tree count, the same floating-point operations as a walk over the trees.
 * Filling costs one addition per tree and cell, so it is built only when the grid is small enough.
 */

/** The flat pre-order trees of RandomForestModel (lib/model/forest.ts). */
export interface FlatForest {
  roots: Int32Array;
  /** Split feature, -1 for a leaf. */
  feature: Int16Array;
  right: Int32Array;
  /** Threshold of a split node (go left when x <= threshold), value of a leaf. */
  value: Float64Array;
  nFeatures: number;
}

/** 4M cells = 32 MB of Float64: far above the revenue model's 0.7M, far below a server's memory. */
export const DEFAULT_MAX_CELLS = 1 << 22;

/** A built table as plain typed arrays, to move it between threads. */
export interface TableParts {
  cuts: Float64Array[];
  strides: Int32Array;
  cells: Float64Array;
}

export class ForestTable {
  private constructor(
    /** Per feature, the ascending distinct thresholds of its split nodes. */
    private readonly cuts: Float64Array[],
    private readonly strides: Int32Array,
    private readonly cells: Float64Array,
  ) {}

  /** Adopts a table built elsewhere (another thread) by build(); no checks, it is our own output. */
  static fromParts(parts: TableParts): ForestTable {
    return new ForestTable(parts.cuts, parts.strides, parts.cells);
  }

  toParts(): TableParts {
    return { cuts: this.cuts, strides: this.strides, cells: this.cells };
  }

  get size(): number {
    return this.cells.length;
  }

  /** The table of `forest`, or undefined when its grid has more than `maxCells` cells. */
  static build(forest: FlatForest, maxCells = DEFAULT_MAX_CELLS): ForestTable | undefined {
    const cuts = distinctThresholds(forest);
    // The axis with the most cells gets stride 1, so filling runs long contiguous inner loops.
    const order = axesBySize(cuts);
    const strides = new Int32Array(cuts.length);
    let size = 1;
    for (let k = order.length - 1; k >= 0; k--) {
      strides[order[k]] = size;
      size *= cuts[order[k]].length + 1;
      if (size > maxCells) return undefined;
    }
    const table = new ForestTable(cuts, strides, new Float64Array(size));
    table.fill(forest, order);
    return table;
  }

  predictOne(x: ArrayLike<number>, offset = 0): number {
    let cell = 0;
    for (let f = 0; f < this.cuts.length; f++) cell += cellOf(this.cuts[f], x[offset + f]) * this.strides[f];
    return this.cells[cell];
  }

  predictMany(features: Float64Array, n: number, out = new Float64Array(n)): Float64Array {
    const d = this.cuts.length;
    for (let i = 0; i < n; i++) out[i] = this.predictOne(features, i * d);
    return out;
  }

  private fill(forest: FlatForest, order: Int32Array): void {
    const { roots, feature, right, value, nFeatures: d } = forest;
    // cutIndex[node]: the node's threshold as an index into cuts[feature], so x goes left iff cell <= index.
    const cutIndex = new Int32Array(feature.length);
    for (let node = 0; node < feature.length; node++) {
      if (feature[node] >= 0) cutIndex[node] = lowerBound(this.cuts[feature[node]], value[node]);
    }
    // The box of cells that reach a node: per feature, an inclusive range of cell indices.
    const lo = new Int32Array(d);
    const hi = new Int32Array(d);
    const innermost = order[d - 1];
    const addBox = (k: number, base: number, v: number): void => {
      if (k === d - 1) {
        for (let c = base + lo[innermost], end = base + hi[innermost]; c <= end; c++) this.cells[c] += v;
        return;
      }
      const f = order[k];
      for (let c = lo[f]; c <= hi[f]; c++) addBox(k + 1, base + c * this.strides[f], v);
    };
    const visit = (node: number): void => {
      const f = feature[node];
      if (f < 0) {
        addBox(0, 0, value[node]);
        return;
      }
      const k = cutIndex[node];
      const [savedLo, savedHi] = [lo[f], hi[f]];
      if (savedLo <= k) {
        hi[f] = Math.min(savedHi, k);
        visit(node + 1);
        hi[f] = savedHi;
      }
      if (savedHi > k) {
        lo[f] = Math.max(savedLo, k + 1);
        visit(right[node]);
        lo[f] = savedLo;
      }
    };
    for (let t = 0; t < roots.length; t++) {
      for (let f = 0; f < d; f++) {
        lo[f] = 0;
        hi[f] = this.cuts[f].length;
      }
      visit(roots[t]);
    }
    for (let c = 0; c < this.cells.length; c++) this.cells[c] /= roots.length;
  }
}

/** Feature indices, the axis with the fewest cells first. */
function axesBySize(cuts: Float64Array[]): Int32Array {
  return Int32Array.from(cuts.keys()).sort((a, b) => cuts[a].length - cuts[b].length);
}

function distinctThresholds(forest: FlatForest): Float64Array[] {
  const sets = Array.from({ length: forest.nFeatures }, () => new Set<number>());
  for (let node = 0; node < forest.feature.length; node++) {
    const f = forest.feature[node];
    if (f >= 0) sets[f].add(forest.value[node]);
  }
  return sets.map((s) => Float64Array.from(s).sort());
}

/** Number of entries of `sorted` below v. */
function lowerBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The cell of x on one axis; NaN fails every `x <= threshold`, so a walk sends it right everywhere. */
function cellOf(cuts: Float64Array, x: number): number {
  return x !== x ? cuts.length : lowerBound(cuts, x);
}
