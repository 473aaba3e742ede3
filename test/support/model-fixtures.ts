/** Registry inputs for the model tests: fake artifacts (opaque bytes), plausible metrics. */
import { trainForest } from '../../lib/model/forest';
import type { RegisterModelInput } from '../../lib/model/registry';

export function fakeModel(version: string, mae: number, over: Partial<RegisterModelInput> = {}): RegisterModelInput {
  return {
    version,
    params: { nTrees: 50, maxDepth: 12, minSamplesLeaf: 5, seed: 42 },
    featureNames: ['quantity', 'unit_price', 'hour', 'day_of_week', 'is_uk', 'customer_known'],
    data: { trainFrom: '2010-12-01', trainTo: '2011-10-31', testFrom: '2011-11-01', testTo: '2011-12-09', trainRows: 421_624, testRows: 108_480 },
    metrics: { mse: mae * mae * 3, mae, r2: 0.42 },
    baselines: { lineRevenue: { mae: 900.5, mse: 4e6 }, trainMean: { mae: 800.25, mse: 3.5e6 } },
    artifact: Buffer.from(`fake forest ${version}`),
    note: `test model ${version}`,
    ...over,
  };
}

const FEATURES = ['quantity', 'unit_price', 'hour', 'day_of_week', 'is_uk', 'customer_known'];

/** A forest on synthetic lines where the order total is 10 x the line value: easy to check. */
export async function smallForest(seed: number, scale: number): Promise<Buffer> {
  const n = 2_000;
  const features = new Float64Array(n * FEATURES.length);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = 1 + (i % 20);
    const p = 0.5 + ((i * 7) % 10);
    features.set([q, p, 8 + (i % 10), i % 6, i % 2, 1], i * FEATURES.length);
    target[i] = q * p * scale;
  }
  const model = await trainForest({ features, target, nFeatures: FEATURES.length, featureNames: FEATURES }, { nTrees: 10, minSamplesLeaf: 1, seed, threads: 1 });
  return model.toBuffer();
}

