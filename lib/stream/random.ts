/** A small seeded PRNG (mulberry32) and weighted sampling, so generated streams are reproducible. */

export { mulberry32, type Rng } from '../random';
import type { Rng } from '../random';

/** Draws items with probability proportional to their weights (cumulative sums + binary search). */
export class WeightedSampler<T> {
  private readonly cumulative: number[] = [];
  private readonly total: number;

  constructor(private readonly items: readonly T[], weights: readonly number[]) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('WeightedSampler needs one weight per item and at least one item');
    let sum = 0;
    for (const w of weights) {
      if (!(w >= 0)) throw new Error(`weights must be non-negative, got ${w}`);
      sum += w;
      this.cumulative.push(sum);
    }
    if (sum <= 0) throw new Error('weights sum to zero');
    this.total = sum;
  }

  get size(): number {
    return this.items.length;
  }

  sample(rng: Rng): T {
    const x = rng() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }
}
