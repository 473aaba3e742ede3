/**
 * The warehouse port. Activities, the API and the stream consumer talk to this interface only;
 * one adapter per backend (DuckDB embedded, BigQuery) implements it.
 *
 * SQL conventions so one query runs on both backends:
 * - tables are referenced by bare name (the BigQuery adapter sets the default dataset);
 * - parameters are named `@name`; cast strings explicitly where the column is not STRING,
 *   e.g. `invoice_date = CAST(@date AS DATE)`;
 * - use types both dialects know in casts: INT64, FLOAT64, STRING, DATE, TIMESTAMP, BOOL (the DuckDB
 *   adapter defines FLOAT64). Never `CAST(x AS NUMERIC)`: DuckDB reads it as DECIMAL(18,3) and would
 *   round; keep money in NUMERIC columns (exact, 9 decimals on both backends) instead.
 */
import { ErrorType, ExpectedError } from '../errors';

export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'NUMERIC' | 'BOOL' | 'DATE' | 'TIMESTAMP';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** Columns are NOT NULL unless this is true. */
  nullable?: boolean;
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
  /** Natural key used by `upsert`; documented, not enforced by BigQuery. */
  key?: string[];
  /** BigQuery partitioning column (DATE or TIMESTAMP); ignored by DuckDB. */
  partitionBy?: string;
  /** BigQuery clustering columns; ignored by DuckDB. */
  clusterBy?: string[];
}

/**
 * Values crossing the port. Normalised so both adapters return the same thing:
 * INT64 -> number, FLOAT64 -> number, NUMERIC -> exact decimal string ("12.340000000" is never
 * produced: trailing zeros are trimmed, "12.34"), BOOL -> boolean, DATE -> "YYYY-MM-DD",
 * TIMESTAMP -> ISO string "YYYY-MM-DDTHH:MM:SS.sssZ", NULL -> null.
 * On input, a Date is bound as TIMESTAMP and a bigint as INT64.
 */
export type SqlValue = string | number | bigint | boolean | Date | null;
export type Row = Record<string, SqlValue>;
export type Params = Record<string, SqlValue>;

export interface Warehouse {
  readonly backend: 'duckdb' | 'bigquery';
  /** Create missing tables (idempotent). Existing tables are left as they are. */
  ensureSchema(tables: readonly TableDef[]): Promise<void>;
  /**
   * Load many rows fast (DuckDB appender, BigQuery load job). Rows arrive in batches so a
   * caller can stream a large file without holding it in memory. Returns rows written.
   */
  bulkLoad(table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number>;
  /** Append streamed rows (micro-batches). Durable when the promise resolves. */
  insertRows(table: TableDef, rows: readonly Row[]): Promise<number>;
  /** Insert or replace rows by `table.key`: re-running with the same keys never duplicates. */
  upsert(table: TableDef, rows: readonly Row[]): Promise<number>;
  /** Run a read query. */
  query<T extends Row = Row>(sql: string, params?: Params): Promise<T[]>;
  /** Run DDL/DML; returns affected rows where the backend reports it, else 0. */
  execute(sql: string, params?: Params): Promise<number>;
  close(): Promise<void>;
}

/** A warehouse error a retry cannot fix (bad SQL, schema mismatch). Name is used by Temporal retry policies. */
export class WarehouseSchemaError extends ExpectedError {
  override readonly name = ErrorType.WarehouseSchema;
}
