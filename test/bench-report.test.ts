import { strict as assert } from 'node:assert';
import { benchTable, BEGIN, END, replaceBenchSection, type Results } from '../bench/report';

const INFO = { date: '2026-12-03', machine: '2 × Xeon, 24 GiB, Node 20.20.2', command: 'npm run bench' };
const row = (table: string, what: RegExp) => table.split('\n').find((l) => what.test(l));

describe('npm run bench: the goals table', () => {
  const results: Results = {
    anchor: { duckdb_read_csv_s: 1.0 },
    ingest: { median_s: 3.2, best_s: 3.1 },
    backfill: { backfill_s: 9.4, days_done: 305, days_failed: 0, day_p50_ms: 120, day_p90_ms: 160 },
    api: { predict_rps: 41_000, predict_p99_ms: 6, predict_errors: 0, batch_rows_per_s: 1_200_000 },
  };
  const table = benchTable(results, INFO);

  it('says for each goal what was measured and whether it was met', () => {
    assert.equal(row(table, /full-year backfill/), '| full-year backfill, 305 days (bench: in-memory Temporal, one worker) | ≤ 10 s | 9.4 s (305 days, 0 failed) | yes |');
    assert.match(row(table, /single-day/) ?? '', /p50 120 ms, p90 160 ms \| \*\*no\*\* \|$/);
    assert.match(row(table, /`\/predict`, 50/) ?? '', /41,000 req\/s, p99 6 ms, 0 errors \| \*\*no\*\* \|$/, 'p99 over 5 ms misses the goal');
    assert.match(row(table, /batch/) ?? '', /1,200,000 rows\/s \| yes \|$/);
    assert.match(row(table, /ingest/) ?? '', /3\.20 s vs 1\.00 s = 3\.2× \| \*\*no\*\* \|$/);
  });

  it('says "not measured" for a bench that did not run, and names the run', () => {
    assert.match(row(table, /^\| stream/) ?? '', /\| not measured \| – \|$/);
    assert.match(table, /^Last `npm run bench`: 2026-12-03, 2 × Xeon, 24 GiB, Node 20\.20\.2\.$/m);
  });

  it('replaces only the text between the markers, and refuses a doc without them', () => {
    const doc = `# Benchmarks\n\nintro\n\n${BEGIN}\nold table\n${END}\n\n## Ingest\n`;
    assert.equal(replaceBenchSection(doc, 'new table'), `# Benchmarks\n\nintro\n\n${BEGIN}\nnew table\n${END}\n\n## Ingest\n`);
    assert.throws(() => replaceBenchSection('# no markers', 'x'), /needs one <!-- bench:begin -->/);
    assert.throws(() => replaceBenchSection(`${BEGIN}${BEGIN}${END}`, 'x'), /needs one/);
  });
});
