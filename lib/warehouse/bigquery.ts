/**
 * BigQuery adapter: Google BigQuery in production (Application Default Credentials), or the local
 * goccy/bigquery-emulator when `emulatorHost` is set (plain HTTP, no credentials). What the
 * emulator cannot do, and the workarounds below, are measured in docs/bigquery-emulator.md.
 *
 * Portable choices (they work on both, so there is one code path):
 * - every query parameter is sent as a string with an explicit type: the REST API defines
 *   parameter values as strings, and the emulator rejects the JSON numbers/booleans the client
 *   would otherwise send;
 * - upsert and insertNew stage the rows in a scratch table (load job) and MERGE from it: the emulator's MERGE
 *   only accepts a table as its source, and in BigQuery a load job keeps the rows out of the
 *   streaming buffer;
 * - rows are checked against the TableDef before they are sent (NOT NULL, decimal places, dates),
 *   because the emulator does not enforce REQUIRED on streamed rows.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import {
  BigQuery,
  BigQueryDate,
  BigQueryDatetime,
  BigQueryInt,
  BigQueryOptions,
  BigQueryTime,
  BigQueryTimestamp,
  Dataset,
  Query,
  QueryResultsOptions,
  Table,
  TableField,
} from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import { addableColumns, ColumnDef, ColumnType, isView, Params, Row, SchemaObject, SqlValue, TableDef, ViewDef, Warehouse, WarehouseSchemaError } from './types';
import { assertUniqueKeys, requireKey } from './keys';
import { canonicalDecimal, decimalToScaled, int64ToNumber, isoDateToDays } from './values';

export interface BigQueryWarehouseConfig {
  projectId: string;
  dataset: string;
  location: string;
  /** `host:port` (or a URL) of a local emulator; unset means real BigQuery with ADC. */
  emulatorHost?: string;
}

/** Rows per insertAll request: BigQuery's recommended batch size. */
const INSERT_CHUNK = 500;
const NUMERIC_SCALE = 9;
/** Scratch tables expire on their own if a crash skips the DROP. */
const STAGE_TTL_MS = 60 * 60 * 1000;

/** Types BigQuery may report for a column, per port type (the API still answers legacy names). */
const TYPE_ALIASES: Record<ColumnType, readonly string[]> = {
  STRING: ['STRING'],
  INT64: ['INT64', 'INTEGER'],
  FLOAT64: ['FLOAT64', 'FLOAT'],
  NUMERIC: ['NUMERIC'],
  BOOL: ['BOOL', 'BOOLEAN'],
  DATE: ['DATE'],
  TIMESTAMP: ['TIMESTAMP'],
};

type JsonScalar = string | number | boolean | null;
type JsonRow = Record<string, JsonScalar>;
/** The REST shape of a query response; the client's typings omit the third tuple element. */
interface QueryResponseLike {
  numDmlAffectedRows?: string | number | null;
}

export async function createBigQueryWarehouse(cfg: BigQueryWarehouseConfig): Promise<BigQueryWarehouse> {
  const wh = new BigQueryWarehouse(makeClient(cfg), cfg);
  await wh.ensureDataset();
  return wh;
}

function makeClient(cfg: BigQueryWarehouseConfig): BigQuery {
  if (!cfg.emulatorHost) return new BigQuery({ projectId: cfg.projectId, location: cfg.location });
  const endpoint = /^https?:\/\//.test(cfg.emulatorHost) ? cfg.emulatorHost.replace(/\/+$/, '') : `http://${cfg.emulatorHost}`;
  const options: BigQueryOptions = {
    projectId: cfg.projectId,
    location: cfg.location,
    apiEndpoint: endpoint,
    // No credentials at all: otherwise google-auth-library looks for ADC and probes the GCE
    // metadata server, which is off this machine.
    authClient: new PassThroughClient(),
  };
  const client = new BigQuery(options);
  // The client also reads BIGQUERY_EMULATOR_HOST and uses it verbatim as the base URL
  // ("127.0.0.1:9050": no scheme, no /bigquery/v2), which breaks every call: pin it.
  client.baseUrl = `${endpoint}/bigquery/v2`;
  return client;
}

export class BigQueryWarehouse implements Warehouse {
  readonly backend = 'bigquery' as const;
  private readonly dataset: Dataset;
  private closed = false;

  constructor(
    private readonly client: BigQuery,
    private readonly cfg: BigQueryWarehouseConfig,
  ) {
    this.dataset = client.dataset(cfg.dataset, { location: cfg.location });
  }

  /**
   * Delete the dataset and its tables (tests and teardown scripts; not part of the port). The
   * emulator can resolve a bare table name into another dataset that has a table of that name, so
   * tests that load orders remove their dataset when done.
   */
  async dropDataset(): Promise<void> {
    await this.dataset.delete({ force: true });
  }

  /** Create the dataset if it is missing (a concurrent creator winning the race is fine). */
  async ensureDataset(): Promise<void> {
    await this.guard(async () => {
      const [exists] = await this.dataset.exists();
      if (!exists) await ignoreAlreadyExists(this.dataset.create({ location: this.cfg.location }));
    });
  }

  async ensureSchema(objects: readonly SchemaObject[]): Promise<void> {
    await this.guard(async () => {
      for (const o of objects) {
        if (isView(o)) await this.ensureView(o);
        else await this.ensureTable(o);
      }
    });
  }

  async bulkLoad(table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number> {
    return this.guard(() => this.loadJob(this.dataset.table(table.name), table, batches));
  }

  async insertRows(table: TableDef, rows: readonly Row[]): Promise<number> {
    if (rows.length === 0) return 0;
    return this.guard(async () => {
      const encoded = rows.map((r) => encodeRow(table, r));
      const target = this.dataset.table(table.name);
      for (let i = 0; i < encoded.length; i += INSERT_CHUNK) await target.insert(encoded.slice(i, i + INSERT_CHUNK));
      return rows.length;
    });
  }

  /**
   * A MERGE with only a WHEN NOT MATCHED clause, from a scratch table: one statement, so the
   * check and the insert cannot be split by another writer (test/stream-scale-out.test.ts races
   * consumer processes on the emulator). On BigQuery a MERGE is mutating DML, and two that touch
   * one partition at once conflict (one is retried or fails) instead of both inserting
   * (docs/streaming.md, "Scale-out").
   */
  async insertNew(table: TableDef, rows: readonly Row[]): Promise<void> {
    const key = requireKey(table, 'insertNew');
    if (rows.length === 0) return;
    assertUniqueKeys(table, key, rows, 'insertNew');
    await this.guard(() => this.mergeFromStage(table, rows, mergeSql(table, key, { update: false })));
  }

  async upsert(table: TableDef, rows: readonly Row[]): Promise<number> {
    const key = requireKey(table);
    if (rows.length === 0) return 0;
    assertUniqueKeys(table, key, rows);
    await this.guard(() => this.mergeFromStage(table, rows, mergeSql(table, key, { update: true })));
    return rows.length;
  }

  /** Load `rows` into a scratch table (the emulator's MERGE takes only a table) and run `merge(stageName)`. */
  private async mergeFromStage(table: TableDef, rows: readonly Row[], merge: (stage: string) => string): Promise<void> {
    const stage = await this.createStage(table);
    try {
      await this.loadJob(stage, table, [rows as Row[]]);
      await this.run(merge(stage.id ?? ''), {});
    } finally {
      await stage.delete().catch(() => undefined); // it expires anyway
    }
  }

  async query<T extends Row = Row>(sql: string, params: Params = {}): Promise<T[]> {
    return this.guard(async () => {
      const { rows } = await this.run(sql, params);
      return rows.map((r) => normaliseRow(r) as T);
    });
  }

  async execute(sql: string, params: Params = {}): Promise<number> {
    return this.guard(async () => {
      const { response } = await this.run(sql, params);
      return Number(response?.numDmlAffectedRows ?? 0);
    });
  }

  /** No transaction spans BigQuery API calls (see Warehouse.atomically): each call is atomic on its own. */
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }

  async close(): Promise<void> {
    // The client holds no connections that need closing; refuse further use like DuckDB does.
    this.closed = true;
  }

  /** jobs.query with the default dataset, so SQL names tables bare, and typed parameters. */
  private async run(sql: string, params: Params): Promise<{ rows: Record<string, unknown>[]; response?: QueryResponseLike }> {
    const query: Query = {
      query: sql,
      useLegacySql: false,
      location: this.cfg.location,
      defaultDataset: { projectId: this.cfg.projectId, datasetId: this.cfg.dataset },
      wrapIntegers: true, // INT64 arrives as text, so int64ToNumber can refuse unsafe values
      ...encodeParams(params),
    };
    const options: QueryResultsOptions = { wrapIntegers: true };
    // Runtime tuple is [rows, nextQuery, response]; the typings declare only two elements.
    const result = (await this.client.query(query, options)) as unknown as [Record<string, unknown>[], unknown, QueryResponseLike?];
    return { rows: result[0], response: result[2] };
  }

  private async ensureTable(table: TableDef): Promise<void> {
    const ref = this.dataset.table(table.name);
    const [exists] = await ref.exists();
    if (!exists) {
      const created = await ignoreAlreadyExists(ref.create(tableMetadata(table)));
      if (created) return;
    }
    const [metadata] = await ref.getMetadata();
    const fields = (metadata as { schema?: { fields?: TableField[] } }).schema?.fields ?? [];
    const missing = columnsToAdd(table, fields);
    if (missing.length === 0) return assertSameColumns(table, fields);
    if (this.cfg.emulatorHost) {
      await this.rebuildWithColumns(table, fields);
    } else {
      // BigQuery adds NULLABLE columns in place (tables.patch with the longer schema): old rows read NULL.
      const schema = { fields: [...fields, ...missing.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE' }))] };
      await ref.setMetadata({ schema });
    }
  }

  /**
   * The emulator accepts ALTER TABLE ADD COLUMN and tables.patch but changes only its metadata,
   * not the stored table (the new columns cannot be read or written). So against the emulator a
   * table gaining columns is rebuilt: copy, drop, create with the new schema, copy back, drop the
   * copy. Not atomic, and not safe against a concurrent writer: fine for a local emulator, never
   * used against BigQuery.
   */
  private async rebuildWithColumns(table: TableDef, existing: readonly TableField[]): Promise<void> {
    const copy = `_migrate_${table.name}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const cols = existing.map((f) => ident(f.name ?? '')).join(', ');
    await this.run(`CREATE TABLE ${ident(copy)} AS SELECT ${cols} FROM ${ident(table.name)}`, {});
    await this.dataset.table(table.name).delete();
    await this.dataset.table(table.name).create(tableMetadata(table));
    await this.run(`INSERT INTO ${ident(table.name)} (${cols}) SELECT ${cols} FROM ${ident(copy)}`, {});
    await this.dataset.table(copy).delete();
  }

  /**
   * A view's SQL names tables as `project.dataset.table`: a view does not see the default dataset
   * of the query that reads it. Created through the tables API so that its metadata keeps the SQL
   * as written and can be compared; a view whose SQL differs is dropped and created again (the
   * emulator's tables.patch of a view changes its metadata only).
   */
  private async ensureView(view: ViewDef): Promise<void> {
    const query = view.sql((name) => `\`${this.cfg.projectId}.${this.cfg.dataset}.${ident(name).slice(1, -1)}\``);
    const ref = this.dataset.table(view.name);
    const [exists] = await ref.exists();
    if (exists) {
      const [metadata] = await ref.getMetadata();
      const m = metadata as { type?: string; view?: { query?: string } };
      if (m.type !== 'VIEW') throw new WarehouseSchemaError(`${view.name} exists but is not a view (it is a ${m.type ?? 'table'}); drop it`);
      if (m.view?.query === query) return;
      await ref.delete().catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 404) throw err; // another process replaced it first
      });
    }
    await ignoreAlreadyExists(ref.create({ view: { query, useLegacySql: false } }));
  }

  private async createStage(table: TableDef): Promise<Table> {
    const name = `_stage_${table.name}_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const metadata = { ...tableMetadata({ ...table, partitionBy: undefined, clusterBy: undefined }), expirationTime: String(Date.now() + STAGE_TTL_MS) };
    const [stage] = await this.dataset.createTable(name, metadata);
    return stage;
  }

  /**
   * One NDJSON load job for all batches: atomic, and no streaming-buffer restrictions on later DML.
   * Batches are spooled to a temp file first, so a failing source or a bad row never leaves a
   * half-sent upload open (the emulator stalls every other request until such an upload times out).
   */
  private async loadJob(target: Table, table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number> {
    const file = path.join(os.tmpdir(), `retailflow-bq-load-${randomUUID()}.ndjson`);
    try {
      const written = await writeNdjson(file, table, batches);
      // BigQuery rejects an empty load, and there is nothing to do.
      if (written > 0) await target.load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_APPEND' });
      return written;
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }

  /** Runs `fn`, translating client errors into the port's error kinds. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('warehouse is closed');
    try {
      return await fn();
    } catch (err) {
      throw toWarehouseError(err);
    }
  }
}

/** Write the batches as newline-delimited JSON, validating every row; returns rows written. */
async function writeNdjson(file: string, table: TableDef, batches: AsyncIterable<Row[]> | Iterable<Row[]>): Promise<number> {
  const out = fs.createWriteStream(file);
  let written = 0;
  try {
    for await (const batch of batches) {
      if (batch.length === 0) continue;
      const text = batch.map((r) => JSON.stringify(encodeRow(table, r))).join('\n') + '\n';
      if (!out.write(text)) await once(out, 'drain');
      written += batch.length;
    }
  } finally {
    out.end();
    await finished(out);
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// Schema

function tableMetadata(table: TableDef) {
  return {
    schema: { fields: table.columns.map((c) => ({ name: c.name, type: c.type, mode: c.nullable ? 'NULLABLE' : 'REQUIRED' })) },
    ...(table.partitionBy ? { timePartitioning: { type: 'DAY', field: table.partitionBy } } : {}),
    ...(table.clusterBy?.length ? { clustering: { fields: table.clusterBy } } : {}),
  };
}

/** Columns the table lacks that ensureSchema may add: the def's trailing addedLater columns, the rest matching. */
function columnsToAdd(table: TableDef, fields: readonly TableField[]): ColumnDef[] {
  if (fields.length >= table.columns.length) return [];
  const addable = addableColumns(table);
  const kept = table.columns.slice(0, fields.length);
  const missing = table.columns.slice(fields.length);
  const samePrefix = kept.every((c, i) => fields[i]?.name === c.name && TYPE_ALIASES[c.type].includes(fields[i]?.type ?? ''));
  return samePrefix && missing.every((c) => addable.includes(c)) ? missing : [];
}

function assertSameColumns(table: TableDef, fields: readonly TableField[]): void {
  const describe = (name: string | undefined, type: string | undefined) => `${name ?? '?'} ${type ?? '?'}`;
  const actual = fields.map((f) => describe(f.name, f.type));
  const same =
    fields.length === table.columns.length &&
    table.columns.every((c, i) => fields[i]?.name === c.name && TYPE_ALIASES[c.type].includes(fields[i]?.type ?? ''));
  if (!same) {
    const expected = table.columns.map((c) => describe(c.name, c.type));
    throw new WarehouseSchemaError(
      `table ${table.name} exists with columns (${actual.join(', ')}) but the code expects (${expected.join(', ')}); migrate or drop it`,
    );
  }
}



function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new WarehouseSchemaError(`unsafe SQL identifier: ${name}`);
  return `\`${name}\``;
}

/**
 * MERGE on the key; nullable key columns match NULL to NULL, as DuckDB's IS NOT DISTINCT FROM does.
 * `update: false` leaves a matched row as it is (insert only the new keys).
 */
function mergeSql(table: TableDef, key: readonly string[], opts: { update: boolean }): (stage: string) => string {
  const on = key
    .map((k) => {
      const col = table.columns.find((c) => c.name === k);
      const eq = `T.${ident(k)} = S.${ident(k)}`;
      return col?.nullable ? `(${eq} OR (T.${ident(k)} IS NULL AND S.${ident(k)} IS NULL))` : eq;
    })
    .join(' AND ');
  const cols = table.columns.map((c) => ident(c.name));
  const updates = opts.update ? table.columns.filter((c) => !key.includes(c.name)).map((c) => `${ident(c.name)} = S.${ident(c.name)}`) : [];
  return (stage) =>
    [
      `MERGE ${ident(table.name)} T USING ${ident(stage)} S ON ${on}`,
      updates.length ? `WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}` : '',
      `WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `S.${c}`).join(', ')})`,
    ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Values in: rows (JSON for insertAll and NDJSON loads) and parameters

function encodeRow(table: TableDef, row: Row): JsonRow {
  const out: JsonRow = {};
  for (const col of table.columns) out[col.name] = encodeValue(table, col, row[col.name]);
  return out;
}

function encodeValue(table: TableDef, col: ColumnDef, value: SqlValue | undefined): JsonScalar {
  if (value === null || value === undefined) {
    if (!col.nullable) throw new WarehouseSchemaError(`${table.name}.${col.name} is NOT NULL but got ${String(value)}`);
    return null;
  }
  try {
    return encodeScalar(col.type, value);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WarehouseSchemaError(`${table.name}.${col.name} (${col.type}): ${reason}`);
  }
}

function encodeScalar(type: ColumnType, value: Exclude<SqlValue, null>): JsonScalar {
  switch (type) {
    case 'STRING':
      return value instanceof Date ? value.toISOString() : String(value);
    case 'INT64':
      return encodeInt(value);
    case 'FLOAT64': {
      const n = Number(value);
      if (typeof value === 'boolean' || value instanceof Date || Number.isNaN(n)) throw new Error(`not a number: ${String(value)}`);
      return Number.isFinite(n) ? n : String(n); // JSON has no Infinity; BigQuery reads "Infinity"
    }
    case 'NUMERIC':
      return encodeNumeric(value);
    case 'BOOL':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new Error(`not a boolean: ${String(value)}`);
    case 'DATE':
      return encodeDate(value);
    case 'TIMESTAMP':
      return toTimestampText(value);
  }
}

function encodeInt(value: Exclude<SqlValue, null>): JsonScalar {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return value.trim();
  throw new Error(`not an integer: ${String(value)}`);
}

function encodeNumeric(value: Exclude<SqlValue, null>): string {
  if (typeof value === 'boolean' || value instanceof Date) throw new Error(`not a decimal: ${String(value)}`);
  const text = String(value).trim();
  decimalToScaled(text, NUMERIC_SCALE); // throws on malformed text or more than 9 decimal places
  return canonicalDecimal(text);
}

function encodeDate(value: Exclude<SqlValue, null>): string {
  const text = value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
  isoDateToDays(text); // throws unless YYYY-MM-DD
  return text;
}

/** Millisecond ISO text: the emulator cannot read back timestamps stored with microseconds. */
function toTimestampText(value: Exclude<SqlValue, null>): string {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${String(value)}`);
  return new Date(ms).toISOString();
}

/**
 * Every value as a string with its type (NULL needs a type; with none, STRING: the SQL conventions
 * cast non-STRING parameters explicitly). A Date binds as TIMESTAMP and a bigint as INT64.
 */
function encodeParams(params: Params): Pick<Query, 'params' | 'types'> {
  const names = Object.keys(params);
  if (names.length === 0) return {};
  const values: Record<string, string | BigQueryTimestamp | null> = {};
  const types: Record<string, string> = {};
  for (const name of names) [values[name], types[name]] = encodeParam(params[name] ?? null);
  return { params: values, types };
}

function encodeParam(value: SqlValue): [string | BigQueryTimestamp | null, string] {
  if (value === null) return [null, 'STRING'];
  // The client sends `.value` of anything typed DATE/TIME*: a plain string would go out as NULL.
  if (value instanceof Date) return [BigQuery.timestamp(toTimestampText(value)), 'TIMESTAMP'];
  switch (typeof value) {
    case 'bigint':
      return [value.toString(), 'INT64'];
    case 'number':
      return [String(value), Number.isInteger(value) ? 'INT64' : 'FLOAT64'];
    case 'boolean':
      return [String(value), 'BOOL'];
    default:
      return [value, 'STRING'];
  }
}

// ---------------------------------------------------------------------------------------------
// Values out

function normaliseRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) out[name] = normaliseValue(value);
  return out;
}

function normaliseValue(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (v instanceof BigQueryInt) return int64ToNumber(BigInt(v.value));
  if (v instanceof BigQueryTimestamp) return isoMillis(v.value);
  if (v instanceof BigQueryDate || v instanceof BigQueryDatetime || v instanceof BigQueryTime) return v.value;
  if (isBig(v)) return canonicalDecimal(v.toFixed()); // toFixed(): never exponent notation
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return JSON.stringify(v); // ARRAY/STRUCT/JSON: outside the port's value set
}

/** NUMERIC arrives as a big.js instance (not a dependency of ours, so recognised by shape). */
function isBig(v: unknown): v is { toFixed(): string } {
  return typeof v === 'object' && v !== null && v.constructor?.name === 'Big' && typeof (v as { toFixed?: unknown }).toFixed === 'function';
}

/** "2011-12-09T12:50:00.123456000Z" -> "2011-12-09T12:50:00.123Z" (the port's millisecond form). */
function isoMillis(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(text);
  if (m) return `${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
  return new Date(text).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Reasons that are BigQuery's own trouble: a retry may succeed, so they stay plain errors. */
const TRANSIENT_REASONS = new Set(['backendError', 'internalError', 'rateLimitExceeded', 'quotaExceeded', 'jobBackendError', 'jobRateLimitExceeded', 'timeout']);
/** The emulator reports SQL analysis errors as 400 jobInternalError; BigQuery uses that reason for retryable faults. */
const ANALYSIS_ERROR = /failed to (parse|analyze)|syntax error|not found|unrecognized name|no matching signature|invalid/i;

interface ErrorDetail {
  reason?: string;
  message?: string;
  errors?: ErrorDetail[]; // insertAll: one entry per failed row
}

function toWarehouseError(err: unknown): Error {
  if (err instanceof WarehouseSchemaError || !(err instanceof Error)) return err instanceof Error ? err : new Error(String(err));
  const { code, errors } = err as Error & { code?: unknown; errors?: unknown };
  const details = flattenDetails(Array.isArray(errors) ? (errors as ErrorDetail[]) : []);
  if (!isPermanent(typeof code === 'number' ? code : undefined, details, err.name)) return err;
  const messages = [...new Set(details.map((d) => d.message).filter(Boolean))];
  const wrapped = new WarehouseSchemaError(messages.length ? messages.slice(0, 5).join('; ') : err.message);
  wrapped.stack = err.stack;
  return wrapped;
}

function flattenDetails(errors: readonly ErrorDetail[]): ErrorDetail[] {
  return errors.flatMap((e) => (Array.isArray(e.errors) ? flattenDetails(e.errors) : [e]));
}

function isPermanent(code: number | undefined, details: readonly ErrorDetail[], name: string): boolean {
  const reasons = details.map((d) => d.reason ?? '').filter((r) => r !== 'stopped'); // 'stopped': rows held back by another's error
  if (reasons.some((r) => TRANSIENT_REASONS.has(r))) return false;
  // DML over rows still in the streaming buffer is refused with a 400, but succeeds once it flushes.
  if (details.some((d) => /streaming buffer/i.test(d.message ?? ''))) return false;
  if (reasons.includes('jobInternalError')) return details.some((d) => ANALYSIS_ERROR.test(d.message ?? ''));
  if (name === 'PartialFailureError') return reasons.length > 0 && reasons.every((r) => r === 'invalid');
  return code === 400 || code === 404 || reasons.some((r) => r === 'invalid' || r === 'invalidQuery' || r === 'notFound');
}

async function ignoreAlreadyExists(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 409) return false;
    throw err;
  }
}
