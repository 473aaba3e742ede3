import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadConfig } from '../../lib/config';

export const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

export function tempDir(prefix = 'retailflow-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Write a CSV (optionally gzip-compressed) into a fresh temp dir and return its path. */
export function writeCsv(lines: readonly string[], opts: { gzip?: boolean; name?: string } = {}): string {
  const file = path.join(tempDir(), opts.name ?? (opts.gzip ? 'orders.csv.gz' : 'orders.csv'));
  const text = `${lines.join('\n')}\n`;
  fs.writeFileSync(file, opts.gzip ? zlib.gzipSync(text) : text);
  return file;
}

/** The real data set's path (../shared/data/online_retail.csv.gz unless DATA_CSV says otherwise). */
export function realDataFile(): string {
  return loadConfig().dataCsv;
}

/** The first `n` lines (header included) of the real data set. */
export function realDataHead(n: number): string[] {
  const text = zlib.gunzipSync(fs.readFileSync(realDataFile())).toString('utf8');
  const lines: string[] = [];
  let start = 0;
  while (lines.length < n) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) break;
    lines.push(text.slice(start, nl));
    start = nl + 1;
  }
  return lines;
}
