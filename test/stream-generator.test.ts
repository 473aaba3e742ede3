/**
 * The generator against the real data: load the whole Online Retail file into a temp DuckDB,
 * build the profile, generate 150,000 lines (~7,000 invoices) and compare with the data, computed
 * here by independent SQL. Tolerances (fixed seed, so the outcome is reproducible; the bounds
 * are about 4 standard errors of a sample this size):
 * - invoice country mix: every country with ≥ 0.5 % of invoices within 2 percentage points, and
 *   total variation distance ≤ 0.05;
 * - mean basket size (lines per invoice) within 10 %;
 * - cancellation lines within 0.6 percentage points of the real 1.7 %;
 * - weekday and hour-of-day mix: total variation distance ≤ 0.05; no Saturdays (the shop had none);
 * - every (StockCode, Description, UnitPrice) is a real one.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOrdersFile } from '../lib/ingest/load';
import { generateLines, loadProfile, take } from '../lib/stream/generator';
import { validateMessage, type OrderLineMessage } from '../lib/stream/message';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { realDataFile, tempDir } from './support/fixtures';

function shares<T>(items: readonly T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  for (const [k, v] of m) m.set(k, v / items.length);
  return m;
}

function tvd<T>(a: Map<T, number>, b: Map<T, number>): number {
  const keys = new Set([...a.keys(), ...b.keys()]);
  let sum = 0;
  for (const k of keys) sum += Math.abs((a.get(k) ?? 0) - (b.get(k) ?? 0));
  return sum / 2;
}

describe('stream generator vs the real data', function () {
  this.timeout(180_000);
  const dir = tempDir();
  let wh: DuckDBWarehouse;
  let lines: OrderLineMessage[];
  let invoices: OrderLineMessage[]; // first line of each generated invoice

  before(async () => {
    wh = new DuckDBWarehouse({ path: path.join(dir, 'warehouse.duckdb') });
    await loadOrdersFile(wh, realDataFile());
    const profile = await loadProfile(wh);
    lines = [...take(generateLines(profile, { seed: 2024 }), 150_000)].map((l) => l.body);
    const seen = new Set<string>();
    invoices = lines.filter((l) => !seen.has(l.InvoiceNo) && seen.add(l.InvoiceNo) !== undefined);
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('matches the invoice country mix', async () => {
    const rows = await wh.query<{ country: string; n: number }>('SELECT country, COUNT(DISTINCT invoice_no) AS n FROM orders_raw GROUP BY country');
    const total = rows.reduce((s, r) => s + Number(r.n), 0);
    const real = new Map(rows.map((r) => [r.country, Number(r.n) / total]));
    const generated = shares(invoices.map((l) => l.Country));
    for (const [country, share] of real) {
      if (share < 0.005) continue;
      const got = generated.get(country) ?? 0;
      assert.ok(Math.abs(got - share) <= 0.02, `${country}: real ${(share * 100).toFixed(2)} %, generated ${(got * 100).toFixed(2)} %`);
    }
    const d = tvd(real, generated);
    assert.ok(d <= 0.05, `total variation distance ${d.toFixed(3)}`);
    assert.ok(invoices.length > 5_000, `${invoices.length} invoices`);
  });

  it('matches the mean basket size and the cancellation rate', async () => {
    const [r] = await wh.query<{ lines: number; invoices: number; cancelled: number }>(
      'SELECT COUNT(*) AS lines, COUNT(DISTINCT invoice_no) AS invoices, SUM(CASE WHEN is_cancellation THEN 1 ELSE 0 END) AS cancelled FROM orders_raw',
    );
    const realMean = Number(r.lines) / Number(r.invoices);
    const genMean = lines.length / invoices.length;
    assert.ok(Math.abs(genMean - realMean) / realMean <= 0.1, `mean basket: real ${realMean.toFixed(2)}, generated ${genMean.toFixed(2)}`);
    const realCancel = Number(r.cancelled) / Number(r.lines);
    const genCancel = lines.filter((l) => l.InvoiceNo.startsWith('C')).length / lines.length;
    assert.ok(Math.abs(genCancel - realCancel) <= 0.006, `cancellation lines: real ${(realCancel * 100).toFixed(2)} %, generated ${(genCancel * 100).toFixed(2)} %`);
  });

  it('matches the weekday and hour mix', async () => {
    // Computed from the invoices' first timestamps, independent of the generator's profile code.
    const first = await wh.query<{ ts: string }>('SELECT MIN(invoice_ts) AS ts FROM orders_raw GROUP BY invoice_no');
    const weekday = (iso: string) => (new Date(iso).getUTCDay() + 6) % 7;
    const hour = (iso: string) => new Date(iso).getUTCHours();
    const genTs = invoices.map((l) => `${l.InvoiceDate.replace(' ', 'T')}Z`);
    const dW = tvd(shares(first.map((r) => weekday(r.ts))), shares(genTs.map(weekday)));
    const dH = tvd(shares(first.map((r) => hour(r.ts))), shares(genTs.map(hour)));
    assert.ok(dW <= 0.05, `weekday TVD ${dW.toFixed(3)}`);
    assert.ok(dH <= 0.05, `hour TVD ${dH.toFixed(3)}`);
    assert.equal(genTs.filter((t) => weekday(t) === 5).length, 0, 'no Saturdays, as in the data');
  });

  it('uses only real stock codes with their descriptions and prices, in valid messages', async () => {
    const rows = await wh.query<{ k: string }>("SELECT DISTINCT stock_code || '|' || COALESCE(description, '') || '|' || CAST(unit_price AS VARCHAR) AS k FROM orders_raw");
    const canon = (price: string) => (price.includes('.') ? price.replace(/0+$/, '').replace(/\.$/, '') : price);
    const real = new Set(rows.map((r) => { const [c, d, p] = r.k.split('|'); return `${c}|${d}|${canon(p)}`; }));
    const bad = lines.filter((l) => !real.has(`${l.StockCode}|${l.Description ?? ''}|${String(l.UnitPrice)}`));
    assert.equal(bad.length, 0, `not in the data: ${JSON.stringify(bad.slice(0, 3))}`);
    const invalid = lines.slice(0, 20_000).filter((l) => !validateMessage(Buffer.from(JSON.stringify(l))).ok);
    assert.equal(invalid.length, 0, JSON.stringify(invalid.slice(0, 2)));
  });
});
