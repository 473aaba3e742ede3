/**
 * Fuzzing the CSV ingest (lib/ingest/: the record reader, parseOrderLine and loadOrdersFile into
 * an in-memory DuckDB): files of valid lines mutated at random (characters replaced, inserted,
 * deleted; fields replaced by hostile text, dropped, repeated, quoted; lines cut or padded to
 * 10 kB). Properties: loaded + quarantined = lines, in the result and in the tables; each line is
 * in exactly one of orders_raw and orders_quarantine (by line number); every quarantined row has
 * a reason and its raw line as the file has it; a loaded description is the field as written.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseRecord } from '../../lib/ingest/csv';
import { loadOrdersFile } from '../../lib/ingest/load';
import { EXPECTED_HEADER } from '../../lib/ingest/orders';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { tempDir } from '../support/fixtures';
import { asReadBack, csvDate, fuzzParams, HOSTILE, SEED, validLine, type ValidLineFields } from './arbitraries';

export const INGEST_RUNS = 40;
const LINES_PER_RUN = 250;

const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** A line as the data set writes it (a description's newlines become spaces: one record per physical line). */
export function csvLine(l: ValidLineFields): string {
  return [
    l.InvoiceNo, l.StockCode, (l.Description ?? '').replace(/[\r\n]/g, ' '), String(l.Quantity), csvDate(l.InvoiceDate),
    String(l.UnitPrice), l.CustomerID === null ? '' : String(l.CustomerID), l.Country,
  ].map(csvField).join(',');
}

const CHARS = [',', '"', '""', '\u0000', '\r', '\u202E', '🎁', '\uD800', ' ', 'x', '9', '-', '.', '/', ':', 'C', '\uFEFF'];
const HOSTILE_FIELDS = HOSTILE.filter((h) => !h.includes('\n'));

type Mutation = (line: string) => string;

const at = (line: string, n: number): number => (line.length === 0 ? 0 : n % (line.length + 1));
const fields = (line: string): string[] => line.split(',');

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...CHARS)).map(([n, c]): Mutation => (l) => l.slice(0, at(l, n)) + c + l.slice(at(l, n) + 1)),
  fc.tuple(fc.nat(), fc.constantFrom(...CHARS)).map(([n, c]): Mutation => (l) => l.slice(0, at(l, n)) + c + l.slice(at(l, n))),
  fc.nat().map((n): Mutation => (l) => l.slice(0, at(l, n)) + l.slice(at(l, n) + 1)),
  fc.nat().map((n): Mutation => (l) => l.slice(0, at(l, n))),
  fc.tuple(fc.nat(7), fc.constantFrom(...HOSTILE_FIELDS)).map(([i, h]): Mutation => (l) => fields(l).map((f, j) => (j === i ? h : f)).join(',')),
  fc.tuple(fc.nat(7), fc.constantFrom(...HOSTILE_FIELDS)).map(([i, h]): Mutation => (l) => fields(l).map((f, j) => (j === i ? csvField(h) : f)).join(',')),
  fc.nat(7).map((i): Mutation => (l) => fields(l).filter((_, j) => j !== i).join(',')),
  fc.nat(7).map((i): Mutation => (l) => fields(l).flatMap((f, j) => (j === i ? [f, f] : [f])).join(',')),
  fc.nat(7).map((i): Mutation => (l) => fields(l).map((f, j) => (j === i ? `"${f}"` : f)).join(',')),
  fc.constant<Mutation>((l) => `${l},${'x'.repeat(10_240)}`),
  fc.constant<Mutation>((l) => l.replace(/,/g, ';')),
);

/** A valid line with 0 to 3 mutations; never a newline (one line stays one physical line), never blank. */
const mutatedLine: fc.Arbitrary<string> = fc
  .tuple(validLine, fc.oneof({ arbitrary: fc.constant([] as Mutation[]), weight: 1 }, { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }), weight: 3 }))
  .map(([l, ms]) => {
    const text = ms.reduce((acc, m) => m(acc), csvLine(l)).replace(/\n/g, '');
    return text.replace(/\r$/, '') === '' ? ',' : text;
  });

describe('fuzz: CSV ingest (mutated lines through loadOrdersFile, in-memory DuckDB)', function () {
  this.timeout(120_000);
  const dir = tempDir('retailflow-fuzz-ingest-');
  let lines = 0;
  let quarantined = 0;
  let run = 0;
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const property = fc.asyncProperty(fc.array(mutatedLine, { minLength: LINES_PER_RUN, maxLength: LINES_PER_RUN }), async (body) => {
    const file = path.join(dir, `run-${run++}.csv`);
    fs.writeFileSync(file, `${EXPECTED_HEADER.join(',')}\n${body.join('\n')}\n`);
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      quarantined += await checkLoad(wh, file, body.length);
    } finally {
      await wh.close();
    }
    lines += body.length;
  });

  it(`${INGEST_RUNS} files of ${LINES_PER_RUN} mutated lines: loaded + quarantined = lines, each line once, every quarantine has a reason`, async () => {
    await fc.assert(property, fuzzParams(SEED, INGEST_RUNS));
    assert.ok(lines >= 10_000, `only ${lines} lines`);
    console.log(`      (${lines} lines, ${quarantined} quarantined)`);
  });
});

/** Loads one file and checks it; returns how many lines were quarantined. */
async function checkLoad(wh: DuckDBWarehouse, file: string, n: number): Promise<number> {
  const res = await loadOrdersFile(wh, file);
  assert.equal(res.rowsLoaded + res.rowsQuarantined, n, 'loaded + quarantined = lines');
  // The lines as the file holds them (a lone surrogate was written as U+FFFD), as the reader sees them.
  const written = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  const loaded = await wh.query<{ line_no: number; description: string | null }>('SELECT line_no, description FROM orders_raw');
  const quarantine = await wh.query<{ line_no: number; reason: string | null; raw_line: string }>('SELECT line_no, reason, raw_line FROM orders_quarantine');
  assert.deepEqual([loaded.length, quarantine.length], [res.rowsLoaded, res.rowsQuarantined], 'the tables hold what the result says');
  const lineNos = [...loaded, ...quarantine].map((r) => Number(r.line_no)).sort((a, b) => a - b);
  assert.deepEqual(lineNos, Array.from({ length: n }, (_, i) => i + 2), 'each line in exactly one table');
  for (const q of quarantine) {
    assert.ok(typeof q.reason === 'string' && q.reason.trim().length > 0, `line ${q.line_no} quarantined without a reason`);
    assert.equal(q.raw_line, asReadBack(written[Number(q.line_no) - 1].slice(0, 10_000)), `line ${q.line_no}: the raw line is kept as written`);
  }
  for (const r of loaded) {
    const field = parseRecord(written[Number(r.line_no) - 1], Number(r.line_no)).fields?.[2];
    assert.equal(r.description, field === '' || field === undefined ? null : asReadBack(field), `line ${r.line_no}: the description is loaded as written`);
  }
  return res.rowsQuarantined;
}
