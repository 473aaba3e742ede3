/**
 * The one machine-readable line a bench prints last, for `npm run bench` (bench/run.ts): the
 * human lines above it stay as they are.
 */
export const RESULT_PREFIX = 'BENCH_RESULT ';

export type BenchMetrics = Record<string, number>;

export function emitResult(bench: string, metrics: BenchMetrics): void {
  console.log(`${RESULT_PREFIX}${JSON.stringify({ bench, ...metrics })}`);
}
