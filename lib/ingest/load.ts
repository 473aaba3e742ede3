/**
 * Loads an Online Retail CSV (plain or gzip) into `orders_raw`.
 *
 * Idempotent by content: a file is identified by the SHA-256 of its (decompressed) text. Loading a file already recorded in
 * `ingest_loads` is a no-op; otherwise its earlier partial rows (a crash mid-load) are deleted
 * first and the load is recorded only when every row is written. Malformed lines go to
 * `orders_quarantine` with their line number and reason; nothing is dropped silently.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { INGEST_LOADS, ORDERS_QUARANTINE, ORDERS_RAW } from '../schema';
import type { Row, Warehouse } from '../warehouse/types';
import { CsvRecord, openText, readCsvRecords } from './csv';
import { headerProblem, parseOrderLine } from './orders';
import { ErrorType, ExpectedError } from '../errors';
import { ORDER_LINES_SCHEMA } from '../order-lines';

export class IngestError extends ExpectedError {
  override readonly name = ErrorType.Ingest;
}

export interface LoadOptions {
  /** Reload even when this file's content is already loaded. */
  force?: boolean;
  batchSize?: number;
  /** Called with the number of lines read so far, about every batch. */
  onProgress?: (linesRead: number) => void;
}

export interface LoadResult {
  status: 'loaded' | 'already-loaded';
  sourceSha256: string;
  sourcePath: string;
  rowsLoaded: number;
  rowsQuarantined: number;
  durationMs: number;
}

export async function loadOrdersFile(wh: Warehouse, file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const started = Date.now();
  assertReadableFile(file);
  const sha = await sha256File(file);
  // orders_raw with the other tables of loads, and the order_lines view that unites it with the stream.
  await wh.ensureSchema([...ORDER_LINES_SCHEMA, ORDERS_QUARANTINE, INGEST_LOADS]);
  const previous = await findLoad(wh, sha);
  if (previous && !opts.force) {
    return { status: 'already-loaded', sourceSha256: sha, sourcePath: file, ...previous, durationMs: Date.now() - started };
  }
  const records = readCsvRecords(openText(file) as AsyncIterable<string>);
  await expectHeader(records, file);
  // All or nothing: a full disk or a crash mid-load must not leave part of the file in orders_raw,
  // where the KPIs would count it (on BigQuery each step is atomic and ingest_loads marks the end).
  const { rowsLoaded, rowsQuarantined } = await wh.atomically(async () => {
    await deleteEarlierAttempt(wh, sha);
    const quarantined: Row[] = [];
    const loaded = await wh.bulkLoad(ORDERS_RAW, toRowBatches(records, sha, file, quarantined, opts));
    for (let i = 0; i < quarantined.length; i += 5_000) {
      await wh.insertRows(ORDERS_QUARANTINE, quarantined.slice(i, i + 5_000));
    }
    await recordLoad(wh, { sha, file, rowsLoaded: loaded, rowsQuarantined: quarantined.length, durationMs: Date.now() - started });
    return { rowsLoaded: loaded, rowsQuarantined: quarantined.length };
  });
  return { status: 'loaded', sourceSha256: sha, sourcePath: file, rowsLoaded, rowsQuarantined, durationMs: Date.now() - started };
}

/** A forced reload, or what a failed load on a warehouse without transactions left behind. */
async function deleteEarlierAttempt(wh: Warehouse, sha: string): Promise<void> {
  await wh.execute('DELETE FROM ingest_loads WHERE source_sha256 = @sha', { sha });
  await wh.execute('DELETE FROM orders_raw WHERE source_sha256 = @sha', { sha });
  await wh.execute('DELETE FROM orders_quarantine WHERE source_sha256 = @sha', { sha });
}

function assertReadableFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new IngestError(`data file not found: ${file} (pass --file PATH or set DATA_CSV)`);
  }
  if (!stat.isFile()) throw new IngestError(`not a regular file: ${file}`);
}

/** SHA-256 of the decompressed text, so a file and its gzip copy count as the same source. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of openText(file)) hash.update(chunk as string);
  return hash.digest('hex');
}

async function expectHeader(records: AsyncGenerator<CsvRecord>, file: string): Promise<void> {
  const first = await records.next();
  if (first.done) throw new IngestError(`empty file: ${file}`);
  const problem = headerProblem(first.value.fields);
  if (problem) throw new IngestError(`${file}: ${problem}`);
}

async function* toRowBatches(
  records: AsyncIterable<CsvRecord>,
  sha: string,
  file: string,
  quarantined: Row[],
  opts: LoadOptions,
): AsyncGenerator<Row[]> {
  const size = opts.batchSize ?? 20_000;
  const now = new Date().toISOString();
  let batch: Row[] = [];
  let linesRead = 1;
  for await (const rec of records) {
    linesRead = rec.lineNo;
    if (rec.raw === '' && rec.fields?.length === 1) continue; // blank line, e.g. the file's last newline
    const parsed = rec.fields ? parseOrderLine(rec.fields, sha, rec.lineNo) : { ok: false as const, reason: rec.error ?? 'unparsable line' };
    if (parsed.ok) {
      batch.push(parsed.row);
    } else {
      quarantined.push({
        source_sha256: sha,
        source_path: file,
        line_no: rec.lineNo,
        raw_line: rec.raw.slice(0, 10_000),
        reason: parsed.reason,
        quarantined_at: now,
      });
    }
    if (batch.length >= size) {
      yield batch;
      batch = [];
      opts.onProgress?.(linesRead);
    }
  }
  if (batch.length > 0) yield batch;
  opts.onProgress?.(linesRead);
}

async function findLoad(wh: Warehouse, sha: string): Promise<{ rowsLoaded: number; rowsQuarantined: number } | undefined> {
  const rows = await wh.query<{ rows_loaded: number; rows_quarantined: number }>(
    'SELECT rows_loaded, rows_quarantined FROM ingest_loads WHERE source_sha256 = @sha',
    { sha },
  );
  return rows[0] ? { rowsLoaded: rows[0].rows_loaded, rowsQuarantined: rows[0].rows_quarantined } : undefined;
}

async function recordLoad(
  wh: Warehouse,
  load: { sha: string; file: string; rowsLoaded: number; rowsQuarantined: number; durationMs: number },
): Promise<void> {
  const [range] = await wh.query<{ first: string | null; last: string | null }>(
    'SELECT MIN(invoice_date) AS first, MAX(invoice_date) AS last FROM orders_raw WHERE source_sha256 = @sha',
    { sha: load.sha },
  );
  await wh.upsert(INGEST_LOADS, [
    {
      source_sha256: load.sha,
      source_path: load.file,
      rows_loaded: load.rowsLoaded,
      rows_quarantined: load.rowsQuarantined,
      first_invoice_date: range?.first ?? null,
      last_invoice_date: range?.last ?? null,
      loaded_at: new Date().toISOString(),
      duration_ms: load.durationMs,
    },
  ]);
}
