/**
 * The warehouse row: reachable, the last load (the ingest ledger, ingest_loads: lib/ingest/load.ts)
 * and the newest order line (MAX(invoice_ts) of orders_raw and of orders_stream). Read-only: a
 * table nobody has created yet is "none", not a failure.
 */
import * as fs from 'node:fs';
import type { Config } from '../config';
import { DuckDBWarehouse } from '../warehouse/duckdb';
import type { Warehouse } from '../warehouse/types';
import { count, errorLine, fail, isoSeconds, ok, relativeTime, warn, type Check, type MonitorRow } from './rows';

export const WAREHOUSE_PART = 'warehouse';

export interface LastLoad {
  sourcePath: string;
  rowsLoaded: number;
  rowsQuarantined: number;
  loadedAt: string;
}

export interface WarehouseFacts {
  backend: string;
  latencyMs: number;
  /** undefined: no load recorded (or no ledger table yet). */
  lastLoad: LastLoad | undefined;
  /** ISO times; null when the table is empty or missing. */
  newestBatchLine: string | null;
  newestStreamLine: string | null;
}

export function warehouseRow(facts: WarehouseFacts | Error, now: Date): MonitorRow {
  if (facts instanceof Error) return fail(WAREHOUSE_PART, errorLine(facts));
  const load = facts.lastLoad
    ? `last load ${relativeTime(new Date(facts.lastLoad.loadedAt), now)}: ${count(facts.lastLoad.rowsLoaded)} rows` +
      `${facts.lastLoad.rowsQuarantined > 0 ? ` (+${count(facts.lastLoad.rowsQuarantined)} quarantined)` : ''} from ${basename(facts.lastLoad.sourcePath)}`
    : 'no load yet (retailflow ingest)';
  const line = (iso: string | null): string => (iso ? isoSeconds(new Date(iso)) : 'none');
  return ok(
    WAREHOUSE_PART,
    `${facts.backend} reachable (${facts.latencyMs} ms); ${load}; newest line: batch ${line(facts.newestBatchLine)}, stream ${line(facts.newestStreamLine)}`,
    { ...facts },
  );
}

function basename(p: string): string {
  return p.split('/').pop() ?? p;
}

/** A query on a table that does not exist (DuckDB "does not exist", BigQuery "Not found: Table", its emulator "Table not found"). */
function isMissingTable(err: unknown): boolean {
  return /does not exist|not found: table|table not found|no such table/i.test(err instanceof Error ? err.message : String(err));
}

async function orNone<T>(query: Promise<T>, none: T): Promise<T> {
  try {
    return await query;
  } catch (err) {
    if (isMissingTable(err)) return none;
    throw err;
  }
}

export async function warehouseFacts(wh: Warehouse): Promise<WarehouseFacts> {
  const began = performance.now();
  await wh.query('SELECT 1 AS ok');
  const latencyMs = Math.round(performance.now() - began);
  // One at a time: the DuckDB adapter runs a connection's statements one after the other anyway.
  const loads = await orNone(
    wh.query<{ source_path: string; rows_loaded: number; rows_quarantined: number; loaded_at: string }>(
      'SELECT source_path, rows_loaded, rows_quarantined, loaded_at FROM ingest_loads ORDER BY loaded_at DESC LIMIT 1',
    ),
    [],
  );
  const newest = async (table: string): Promise<string | null> =>
    (await orNone(wh.query<{ newest: string | null }>(`SELECT MAX(invoice_ts) AS newest FROM ${table}`), []))[0]?.newest ?? null;
  const newestBatchLine = await newest('orders_raw');
  const newestStreamLine = await newest('orders_stream');
  const l = loads[0];
  return {
    backend: wh.backend,
    latencyMs,
    lastLoad: l ? { sourcePath: l.source_path, rowsLoaded: Number(l.rows_loaded), rowsQuarantined: Number(l.rows_quarantined), loadedAt: l.loaded_at } : undefined,
    newestBatchLine,
    newestStreamLine,
  };
}

/**
 * Opens the warehouse for one check. DuckDB: another process may hold the file's lock for a
 * moment (the consumer between micro-batches, a load); wait for it at most `timeoutMs`, and
 * release the file right afterwards so the monitor never keeps the others waiting. A DuckDB file
 * that does not exist is not created (undefined).
 */
async function openForMonitor(warehouse: Config['warehouse'], timeoutMs: number): Promise<Warehouse | undefined> {
  if (warehouse.backend === 'duckdb') {
    if (!fs.existsSync(warehouse.duckdbPath)) return undefined;
    return new DuckDBWarehouse({ path: warehouse.duckdbPath, idleCloseMs: 100, lockTimeoutMs: timeoutMs });
  }
  // Loaded lazily, as lib/warehouse/index.ts does: the BigQuery client is large.
  const { createBigQueryWarehouse } = await import('../warehouse/bigquery');
  return createBigQueryWarehouse(warehouse.bigquery);
}

/**
 * DuckDB: the check runs after the others (`last`). One process at a time holds the file, and the
 * consumer's /stats and the API's /health query it too: run together, the three would wait for
 * each other's lock and the monitor would slow down what it measures.
 */
export function warehouseCheck(warehouse: Config['warehouse'], timeoutMs: number, now: () => Date): Check {
  return {
    parts: [WAREHOUSE_PART],
    last: warehouse.backend === 'duckdb',
    run: async () => {
      const wh = await openForMonitor(warehouse, timeoutMs);
      if (!wh) return [warn(WAREHOUSE_PART, `duckdb file ${warehouse.duckdbPath} does not exist yet (the consumer or retailflow ingest creates it)`)];
      try {
        return [warehouseRow(await warehouseFacts(wh).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))), now())];
      } finally {
        void wh.close().catch(() => undefined);
      }
    },
  };
}
