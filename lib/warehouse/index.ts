/** Picks the warehouse adapter from configuration. */
import type { Config } from '../config';
import { DuckDBWarehouse } from './duckdb';
import type { Warehouse } from './types';

export * from './types';

/**
 * `duckdbIdleCloseMs`: how long the DuckDB file stays open after the last operation. Processes that
 * only poll (the API checking for a new model) pass 0, so they never keep others waiting.
 */
export async function openWarehouse(config: Config, opts: { duckdbIdleCloseMs?: number } = {}): Promise<Warehouse> {
  const wh = config.warehouse;
  if (wh.backend === 'duckdb') return new DuckDBWarehouse({ path: wh.duckdbPath, idleCloseMs: opts.duckdbIdleCloseMs });
  // Loaded lazily: the BigQuery client is large and the embedded default never needs it.
  const { createBigQueryWarehouse } = await import('./bigquery');
  return createBigQueryWarehouse(wh.bigquery);
}
