/** Registry inputs for the model tests: fake artifacts (opaque bytes), plausible metrics. */
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
