/** Picks the warehouse adapter from configuration. */
import type { Config } from '../config';
import { DuckDBWarehouse } from './duckdb';
import type { Warehouse } from './types';

export * from './types';

export async function openWarehouse(config: Config): Promise<Warehouse> {
  const wh = config.warehouse;
  if (wh.backend === 'duckdb') return new DuckDBWarehouse({ path: wh.duckdbPath });
  // Loaded lazily: the BigQuery client is large and the embedded default never needs it.
  const { createBigQueryWarehouse } = await import('./bigquery');
  return createBigQueryWarehouse(wh.bigquery);
}
