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
  /**
   * Added to the table after it was first released: `ensureSchema` adds it to an existing table
   * that lacks it (ALTER TABLE ADD COLUMN), so a warehouse created by an older version migrates
   * on its own. Such columns must be nullable (old rows get NULL) and come after every column
   * without the flag. Any other difference from the table found is still a WarehouseSchemaError.
   */
  addedLater?: boolean;
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
 * A view: one name in SQL for a query over tables. `sql` names each table through `table(name)`,
 * which the adapter turns into a reference that resolves inside the view (DuckDB: the bare name;
 * BigQuery: `project.dataset.name`, since a view does not see the query's default dataset). The
 * SQL must be the one dialect both backends accept. `ensureSchema` creates the view, or replaces
 * it when its SQL differs; the tables it reads must be ensured before it (earlier in the list or
 * by an earlier call).
 */
export interface ViewDef {
  kind: 'view';
  name: string;
  sql: (table: (name: string) => string) => string;
}

/** What `ensureSchema` creates: tables and views. */
export type SchemaObject = TableDef | ViewDef;

export function isView(o: SchemaObject): o is ViewDef {
  return 'kind' in o && o.kind === 'view';
}

/** The columns an existing table may lack and `ensureSchema` adds; throws if the def misuses the flag. */
export function addableColumns(table: TableDef): ColumnDef[] {
  const first = table.columns.findIndex((c) => c.addedLater);
  if (first < 0) return [];
  const later = table.columns.slice(first);
  const bad = later.find((c) => !c.addedLater || !c.nullable);
  if (bad) throw new WarehouseSchemaError(`table ${table.name}: column ${bad.name} must be nullable and flagged addedLater, as every column after the first added one`);
  return later;
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
  /**
   * Create missing tables and views, in order (idempotent). An existing table is checked against
   * its def: a table lacking only trailing `addedLater` columns gets them added; any other
   * difference is a WarehouseSchemaError ("migrate or drop it"). A view is replaced when its SQL
   * changed.
   */
  ensureSchema(objects: readonly SchemaObject[]): Promise<void>;
  /**
   * Load many rows fast (DuckDB appender, BigQuery load job). Rows arrive in batches so a
   * caller can stream a large file without holding it in memory. Returns rows written.
   */
  bulkLoad(table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number>;
  /** Append streamed rows (micro-batches). Durable when the promise resolves. */
  insertRows(table: TableDef, rows: readonly Row[]): Promise<number>;
  /**
   * Insert the rows whose `table.key` is not in the table yet, in one atomic statement: writers
   * racing on one key (two consumer processes) store it once, and the losing rows are dropped.
   * Which rows won is not returned (the BigQuery emulator reports no affected rows): read the
   * table back. A batch naming one key twice is a WarehouseSchemaError.
   */
  insertNew(table: TableDef, rows: readonly Row[]): Promise<void>;
  /** Insert or replace rows by `table.key`: re-running with the same keys never duplicates. */
  upsert(table: TableDef, rows: readonly Row[]): Promise<number>;
  /**
   * Run `work`, whose calls on this warehouse must be sequential, so that its writes land together
   * or not at all. DuckDB: one transaction on one connection. BigQuery: each call is atomic on its
   * own (a load job, a DML statement) but there is no transaction across API calls, so a caller
   * keeps a marker of completion (ingest_loads) and cleans a partial attempt on its re-run.
   */
  atomically<T>(work: () => Promise<T>): Promise<T>;
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

/** What a user sees when a query names a table nothing has created yet (both adapters say the same). */
export function missingTableMessage(table: string): string {
  const hint = table === 'orders_raw' ? 'load the data first: retailflow ingest' : 'the step that writes it has not run yet';
  return `table ${table} does not exist in the warehouse: ${hint}`;
}
