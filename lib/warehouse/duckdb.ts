/**
 * DuckDB adapter: the embedded default warehouse, one file under data/.
 *
 * DuckDB lets only one process open a file for writing. The worker, the CLI, the API and the
 * stream consumer all need the warehouse, so this adapter does not hold the file open for the
 * life of the process: it opens on first use, shares the instance between concurrent operations
 * of the same process, and closes it after a short idle period. Another process waiting for the
 * lock retries with backoff until `lockTimeoutMs`, then fails with a message naming the holder.
 * A waiter leaves a note, and a busy holder steps aside for it (duckdb-handoff.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBType,
  TIMESTAMP,
  VARCHAR,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampValue,
  DuckDBValue,
} from '@duckdb/node-api';
import { addableColumns, ColumnDef, ColumnType, isView, Params, Row, SchemaObject, SqlValue, TableDef, ViewDef, Warehouse, WarehouseSchemaError, missingTableMessage } from './types';
import { assertUniqueKeys, requireKey } from './keys';
import { daysToIsoDate, decimalToScaled, int64ToNumber, isoDateToDays, microsToIso, scaledToDecimal } from './values';
import { namedParamsToDollar, quoteIdent } from './sql';
import { StorageError, storageProblem } from '../errors';
import { asksForHandoff, FileHandoff, RETRY_MAX_MS, STEP_ASIDE_MS } from './duckdb-handoff';

const NUMERIC_WIDTH = 38;
const NUMERIC_SCALE = 9;

const DDL_TYPE: Record<ColumnType, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  NUMERIC: `DECIMAL(${NUMERIC_WIDTH},${NUMERIC_SCALE})`,
  BOOL: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMP',
};

export interface DuckDBWarehouseOptions {
  /** File path, or ':memory:' (kept open for the life of the adapter). */
  path: string;
  /** Close the file this long after the last operation ends, so other processes can use it. */
  idleCloseMs?: number;
  /** How long to wait for another process's lock before failing. */
  lockTimeoutMs?: number;
}

export class DuckDBWarehouse implements Warehouse {
  readonly backend = 'duckdb' as const;
  private instance: DuckDBInstance | undefined;
  private opening: Promise<DuckDBInstance> | undefined;
  private active = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ensured = new Set<string>();
  private schemaChain: Promise<void> = Promise.resolve();
  private insertChain: Promise<void> = Promise.resolve();
  /** The connection of the `atomically` call this async context runs in, if any. */
  private readonly transaction = new AsyncLocalStorage<DuckDBConnection>();
  /** Turn-taking with other processes on the file (none for ':memory:'). */
  private readonly handoff: FileHandoff | undefined;
  /** Set while this process closes the file for a waiting one; new operations wait for it. */
  private steppingAside: Promise<void> | undefined;
  /** Operations waiting for the file that ask a busy holder to step aside. */
  private askers = 0;
  /** Resolved when no operation is running. */
  private onDrained: Array<() => void> = [];
  private readonly idleCloseMs: number;
  private readonly lockTimeoutMs: number;

  constructor(private readonly opts: DuckDBWarehouseOptions) {
    this.idleCloseMs = opts.idleCloseMs ?? 1_000;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 60_000;
    this.handoff = opts.path === ':memory:' ? undefined : new FileHandoff(opts.path);
  }

  async ensureSchema(objects: readonly SchemaObject[]): Promise<void> {
    // Checked once per process and definition: activities call this on every run.
    if (objects.every((o) => this.ensured.has(signature(o)))) return;
    // One schema change at a time in this process: concurrent days of a backfill each creating
    // order_predictions on their own connection made DuckDB fail one with "Catalog write-write
    // conflict". Serialised, the second finds the table; another process racing us is retried.
    const run = this.schemaChain.then(() => this.ensurePending(objects));
    this.schemaChain = run.catch(() => undefined);
    await run;
  }

  private async ensurePending(objects: readonly SchemaObject[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const pending = objects.filter((o) => !this.ensured.has(signature(o)));
      if (pending.length === 0) return;
      try {
        await this.withConnection(async (conn) => {
          for (const o of pending) {
            if (isView(o)) await ensureView(conn, o);
            else await ensureTable(conn, o);
            this.ensured.add(signature(o));
          }
        });
        return;
      } catch (err) {
        if (attempt >= 3 || !/write-write conflict/i.test((err as Error).message)) throw err;
      }
    }
  }

  /**
   * One transaction: the appender flushes (commits) every few hundred thousand rows on its own, so
   * without one a full disk mid-load left the rows before it committed (206,144 of 541,909).
   */
  async bulkLoad(table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number> {
    return this.withConnection((conn) => this.inTransaction(conn, async () => {
      const appender = await conn.createAppender(table.name);
      let written = 0;
      try {
        for await (const batch of batches) {
          appendRows(appender, table.columns, batch);
          written += batch.length;
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return written;
    }));
  }

  /**
   * `work`'s calls on this adapter share one connection and one transaction: they commit together
   * or not at all. Those calls must run one after another (a connection runs one statement at a
   * time); a nested call joins the outer transaction.
   */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    if (this.transaction.getStore()) return work();
    return this.withConnection((conn) => this.inTransaction(conn, () => this.transaction.run(conn, work)));
  }

  /** `fn` in a transaction of its own, or in the `atomically` one that `conn` already carries. */
  private async inTransaction<T>(conn: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
    if (this.transaction.getStore() === conn) return fn();
    await conn.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await conn.run('COMMIT');
      return result;
    } catch (err) {
      // A failed COMMIT has already ended the transaction; the original error is the one to report.
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async insertRows(table: TableDef, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.bulkLoad(table, [rows as Row[]]);
  }

  /**
   * Insert-if-absent as one anti-join statement, one at a time per adapter. Nothing else can
   * write between its check and its insert: this adapter's other insertNew calls wait on
   * `insertChain`, and no other process can open the file while this one holds it (DuckDB's
   * write lock). Not a unique index with ON CONFLICT: after a kill -9, DuckDB 1.5's WAL replay
   * left such an index out of step with its table (CI: an event the index skipped as present that
   * no query could find, and a stack that stored 60 lines twice), while the table itself replays
   * intact.
   */
  async insertNew(table: TableDef, rows: readonly Row[]): Promise<void> {
    const key = requireKey(table, 'insertNew');
    if (rows.length === 0) return;
    assertUniqueKeys(table, key, rows, 'insertNew');
    const target = quoteIdent(table.name);
    // Plain equality (a hash anti-join): a key column is NOT NULL in every table written this way.
    const match = key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
    const insert = (stage: string) => `INSERT INTO ${target} SELECT s.* FROM ${quoteIdent(stage)} s WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${match})`;
    const run = this.insertChain.then(() => this.withStage(table, rows, (conn, stage) => conn.run(insert(stage))));
    this.insertChain = run.catch(() => undefined);
    await run;
  }

  async upsert(table: TableDef, rows: readonly Row[]): Promise<number> {
    const key = requireKey(table);
    if (rows.length === 0) return 0;
    assertUniqueKeys(table, key, rows);
    await this.withStage(table, rows, async (conn, stage) => {
      const match = key.map((k) => `t.${quoteIdent(k)} IS NOT DISTINCT FROM s.${quoteIdent(k)}`).join(' AND ');
      await this.inTransaction(conn, async () => {
        await conn.run(`DELETE FROM ${quoteIdent(table.name)} t USING ${quoteIdent(stage)} s WHERE ${match}`);
        await conn.run(`INSERT INTO ${quoteIdent(table.name)} SELECT * FROM ${quoteIdent(stage)}`);
      });
    });
    return rows.length;
  }

  /** `rows` appended to a temp table shaped like `table`, for `fn` to merge from; dropped after. */
  private withStage(table: TableDef, rows: readonly Row[], fn: (conn: DuckDBConnection, stage: string) => Promise<unknown>): Promise<void> {
    return this.withConnection(async (conn) => {
      const stage = `_stage_${table.name}_${process.pid}_${Date.now()}`;
      await conn.run(`CREATE TEMP TABLE ${quoteIdent(stage)} AS SELECT * FROM ${quoteIdent(table.name)} LIMIT 0`);
      try {
        const appender = await conn.createAppender(stage, 'main', 'temp');
        appendRows(appender, table.columns, rows);
        appender.closeSync();
        await fn(conn, stage);
      } finally {
        await conn.run(`DROP TABLE IF EXISTS temp.${quoteIdent(stage)}`);
      }
    });
  }

  async query<T extends Row = Row>(sql: string, params: Params = {}): Promise<T[]> {
    return this.withConnection(async (conn) => {
      const reader = await conn.runAndReadAll(namedParamsToDollar(sql), toDuckParams(params));
      const names = reader.columnNames();
      return reader.getRows().map((values) => {
        const row: Row = {};
        names.forEach((name, i) => (row[name] = fromDuck(values[i])));
        return row as T;
      });
    });
  }

  async execute(sql: string, params: Params = {}): Promise<number> {
    return this.withConnection(async (conn) => {
      const result = await conn.run(namedParamsToDollar(sql), toDuckParams(params));
      return result.rowsChanged;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.opening) await this.opening.catch(() => undefined);
    this.instance?.closeSync();
    this.instance = undefined;
  }

  /**
   * Run `fn` with a fresh connection on the shared instance (or the connection of the enclosing
   * `atomically`); wraps SQL and disk errors.
   */
  private async withConnection<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('warehouse is closed');
    const pinned = this.transaction.getStore();
    if (pinned) return fn(pinned).catch((err: unknown) => Promise.reject(asWarehouseError(err, this.opts.path)));
    await this.letWaiterIn();
    this.active += 1;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    try {
      const instance = await this.openAsking();
      const conn = await instance.connect();
      try {
        return await fn(conn);
      } catch (err) {
        throw asWarehouseError(err, this.opts.path);
      } finally {
        conn.closeSync();
      }
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const resolve of this.onDrained.splice(0)) resolve();
      this.scheduleIdleClose();
    }
  }

  /** Another process waits for the file (duckdb-handoff.ts): close it once running work ends, and stay out a moment. */
  private letWaiterIn(): Promise<void> {
    if (this.steppingAside) return this.steppingAside;
    if (!this.instance || !this.handoff?.anotherWaits()) return Promise.resolve();
    this.steppingAside = this.stepAside().finally(() => (this.steppingAside = undefined));
    return this.steppingAside;
  }

  private async stepAside(): Promise<void> {
    if (this.active > 0) await new Promise<void>((resolve) => this.onDrained.push(resolve));
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.instance?.closeSync();
    this.instance = undefined;
    await new Promise((r) => setTimeout(r, STEP_ASIDE_MS));
  }

  private async openAsking(): Promise<DuckDBInstance> {
    if (this.instance) return this.instance;
    const asks = asksForHandoff();
    if (asks) this.askers += 1;
    try {
      return await this.open();
    } finally {
      if (asks) this.askers -= 1;
    }
  }

  private open(): Promise<DuckDBInstance> {
    if (this.instance) return Promise.resolve(this.instance);
    this.opening ??= this.openWithLockRetry().then((instance) => {
      this.instance = instance;
      this.opening = undefined;
      return instance;
    }, (err: unknown) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private async openWithLockRetry(): Promise<DuckDBInstance> {
    if (this.opts.path !== ':memory:') this.makeDirectory();
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        const instance = await DuckDBInstance.create(this.opts.path);
        await defineBigQueryTypeAliases(instance);
        this.handoff?.gotIn();
        return instance;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const problem = storageProblem(err);
        if (problem) throw new StorageError(`cannot open the DuckDB warehouse ${this.opts.path}: ${problem} (free space or make its directory writable, then run it again)`, { cause: err });
        if (!/lock/i.test(message) || Date.now() + delay > deadline) {
          throw new Error(`cannot open DuckDB warehouse ${this.opts.path}: ${message}`, { cause: err });
        }
        if (this.askers > 0) this.handoff?.announceWaiting();
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private makeDirectory(): void {
    try {
      fs.mkdirSync(path.dirname(this.opts.path), { recursive: true });
    } catch (err) {
      const problem = storageProblem(err);
      if (problem) throw new StorageError(`cannot create the DuckDB warehouse's directory ${path.dirname(this.opts.path)}: ${problem}`, { cause: err });
      throw err;
    }
  }

  private scheduleIdleClose(): void {
    if (this.active > 0 || this.opts.path === ':memory:' || this.closed) return;
    // Someone waits for the file: an idle holder lets go at once rather than after idleCloseMs.
    const delay = this.handoff?.anotherWaits() ? 0 : this.idleCloseMs;
    this.idleTimer = setTimeout(() => {
      if (this.active === 0 && this.instance) {
        this.instance.closeSync();
        this.instance = undefined;
      }
    }, delay);
    this.idleTimer.unref();
  }
}

/** Lets the shared SQL say FLOAT64, as BigQuery does. */
async function defineBigQueryTypeAliases(instance: DuckDBInstance): Promise<void> {
  const conn = await instance.connect();
  try {
    await conn.run('CREATE TYPE IF NOT EXISTS FLOAT64 AS DOUBLE');
  } finally {
    conn.closeSync();
  }
}

async function ensureTable(conn: DuckDBConnection, table: TableDef): Promise<void> {
  const existing = await conn.runAndReadAll(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_name = $t AND table_schema = 'main' ORDER BY ordinal_position`,
    { t: table.name },
  );
  const rows = existing.getRows();
  await ensureColumns(conn, table, rows.map((r) => String(r[0])));
  if (table.key) await dropLegacyUniqueIndex(conn, table);
}

/**
 * Commit 7e3ebc7 gave the stream tables a unique index; insertNew no longer uses one (see there),
 * and a copy left out of step by a crash would refuse rows it wrongly thinks are stored.
 */
async function dropLegacyUniqueIndex(conn: DuckDBConnection, table: TableDef): Promise<void> {
  await conn.run(`DROP INDEX IF EXISTS ${quoteIdent(`${table.name}_key`)}`);
}

async function ensureColumns(conn: DuckDBConnection, table: TableDef, actual: readonly string[]): Promise<void> {
  if (actual.length === 0) {
    const cols = table.columns
      .map((c) => `${quoteIdent(c.name)} ${DDL_TYPE[c.type]}${c.nullable ? '' : ' NOT NULL'}`)
      .join(', ');
    await conn.run(`CREATE TABLE IF NOT EXISTS ${quoteIdent(table.name)} (${cols})`);
    return;
  }
  const expected = table.columns.map((c) => c.name);
  if (actual.join(',') === expected.join(',')) return;
  // An older version's table: it lacks only columns added later, at the end. Add them (NULL in old rows).
  const addable = addableColumns(table);
  const missing = table.columns.slice(actual.length);
  const isPrefix = actual.join(',') === expected.slice(0, actual.length).join(',');
  if (isPrefix && missing.length > 0 && missing.every((c) => addable.includes(c))) {
    for (const c of missing) await conn.run(`ALTER TABLE ${quoteIdent(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${DDL_TYPE[c.type]}`);
    return;
  }
  throw new WarehouseSchemaError(
    `table ${table.name} exists with columns (${actual.join(', ')}) but the code expects (${expected.join(', ')}); ` +
      'migrate or drop it',
  );
}

/**
 * DuckDB keeps its own rewrite of a view's SQL, so there is nothing to compare: the view is
 * replaced once per process (ensureSchema caches it), which is cheap, and only one process
 * writes a DuckDB file at a time.
 */
async function ensureView(conn: DuckDBConnection, view: ViewDef): Promise<void> {
  await conn.run(`CREATE OR REPLACE VIEW ${quoteIdent(view.name)} AS ${view.sql(quoteIdent)}`);
}

function signature(o: SchemaObject): string {
  if (isView(o)) return `view ${o.name} AS ${o.sql(quoteIdent)}`;
  return `${o.name}(${o.columns.map((c) => `${c.name} ${c.type}${c.nullable ? '?' : ''}`).join(',')})`;
}



/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

const CHUNK_TYPE: Record<ColumnType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  FLOAT64: DOUBLE,
  NUMERIC: DECIMAL(NUMERIC_WIDTH, NUMERIC_SCALE),
  BOOL: BOOLEAN,
  DATE,
  TIMESTAMP,
};

/**
 * Column-wise data chunks: numeric columns are copied to DuckDB as typed buffers, which is several
 * times faster than appending value by value through the native binding.
 */
function appendRows(appender: DuckDBAppender, columns: readonly ColumnDef[], rows: readonly Row[]): void {
  const chunk = DuckDBDataChunk.create(columns.map((c) => CHUNK_TYPE[c.type]));
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const slice = rows.slice(start, start + CHUNK_ROWS);
    chunk.setColumns(columns.map((col) => slice.map((row) => toDuckValue(col, row[col.name]))));
    appender.appendDataChunk(chunk);
    chunk.reset();
  }
}

function toDuckValue(col: ColumnDef, value: SqlValue | undefined): DuckDBValue {
  if (value === null || value === undefined) {
    if (!col.nullable) throw new WarehouseSchemaError(`column ${col.name} is NOT NULL but got ${String(value)}`);
    return null;
  }
  switch (col.type) {
    case 'STRING':
      return String(value);
    case 'INT64':
      return BigInt(value as number | bigint | string);
    case 'FLOAT64':
      return Number(value);
    case 'NUMERIC':
      return new DuckDBDecimalValue(decimalToScaled(String(value), NUMERIC_SCALE), NUMERIC_WIDTH, NUMERIC_SCALE);
    case 'BOOL':
      return Boolean(value);
    case 'DATE':
      return new DuckDBDateValue(isoDateToDays(String(value)));
    case 'TIMESTAMP':
      return new DuckDBTimestampValue(BigInt(toMillis(value)) * 1000n);
  }
}

function toMillis(value: SqlValue): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  if (Number.isNaN(ms)) throw new WarehouseSchemaError(`not a timestamp: ${String(value)}`);
  return ms;
}

function toDuckParams(params: Params): Record<string, DuckDBValue> {
  const out: Record<string, DuckDBValue> = {};
  for (const [name, v] of Object.entries(params)) {
    out[name] = v instanceof Date ? new DuckDBTimestampValue(BigInt(v.getTime()) * 1000n) : v;
  }
  return out;
}

function fromDuck(v: DuckDBValue): SqlValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return int64ToNumber(v);
  if (v instanceof DuckDBDecimalValue) return scaledToDecimal(v.value, v.scale);
  if (v instanceof DuckDBDateValue) return daysToIsoDate(v.days);
  if (v instanceof DuckDBTimestampValue) return microsToIso(v.micros);
  return String(v);
}

function asWarehouseError(err: unknown, file: string): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  if (err instanceof StorageError) return err;
  const problem = storageProblem(err);
  if (problem) return new StorageError(`cannot write the DuckDB warehouse ${file}: ${problem}; the write was rolled back (free space or make its directory writable, then run it again)`, { cause: err });
  const missing = /^Catalog Error: Table with name (\w+) does not exist/i.exec(err.message);
  if (missing) return new WarehouseSchemaError(missingTableMessage(missing[1]), { cause: err });
  if (/^(Parser|Binder|Catalog|Conversion) Error/i.test(err.message)) return new WarehouseSchemaError(err.message, { cause: err });
  return err;
}
