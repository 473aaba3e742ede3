/** Warehouse tables owned by the foundation. Other modules add their own TableDefs. */
import type { ColumnDef, TableDef } from './warehouse/types';

/** One order line in the seed's shape, typed; shared by orders_raw (files) and orders_stream (events). */
export const ORDER_LINE_COLUMNS: readonly ColumnDef[] = [
  { name: 'invoice_no', type: 'STRING' },
  { name: 'stock_code', type: 'STRING' },
  { name: 'description', type: 'STRING', nullable: true },
  { name: 'quantity', type: 'INT64' },
  { name: 'invoice_ts', type: 'TIMESTAMP' },
  { name: 'invoice_date', type: 'DATE' },
  { name: 'unit_price', type: 'NUMERIC' },
  { name: 'customer_id', type: 'INT64', nullable: true },
  { name: 'country', type: 'STRING' },
  { name: 'is_cancellation', type: 'BOOL' },
];

export const ORDERS_RAW: TableDef = {
  name: 'orders_raw',
  columns: [
    ...ORDER_LINE_COLUMNS,
    // Provenance: which file and which line, so a reload replaces exactly its own rows.
    { name: 'source_sha256', type: 'STRING' },
    { name: 'line_no', type: 'INT64' },
  ],
  key: ['source_sha256', 'line_no'],
  partitionBy: 'invoice_date',
  clusterBy: ['invoice_no'],
};

export const ORDERS_QUARANTINE: TableDef = {
  name: 'orders_quarantine',
  columns: [
    { name: 'source_sha256', type: 'STRING' },
    { name: 'source_path', type: 'STRING' },
    { name: 'line_no', type: 'INT64' },
    { name: 'raw_line', type: 'STRING' },
    { name: 'reason', type: 'STRING' },
    { name: 'quarantined_at', type: 'TIMESTAMP' },
  ],
  key: ['source_sha256', 'line_no'],
};

export const INGEST_LOADS: TableDef = {
  name: 'ingest_loads',
  columns: [
    { name: 'source_sha256', type: 'STRING' },
    { name: 'source_path', type: 'STRING' },
    { name: 'rows_loaded', type: 'INT64' },
    { name: 'rows_quarantined', type: 'INT64' },
    { name: 'first_invoice_date', type: 'DATE', nullable: true },
    { name: 'last_invoice_date', type: 'DATE', nullable: true },
    { name: 'loaded_at', type: 'TIMESTAMP' },
    { name: 'duration_ms', type: 'INT64' },
  ],
  key: ['source_sha256'],
};

export const FOUNDATION_TABLES: readonly TableDef[] = [ORDERS_RAW, ORDERS_QUARANTINE, INGEST_LOADS];
