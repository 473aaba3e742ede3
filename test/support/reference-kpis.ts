/**
 * An independent reference for the daily KPIs, computed straight from the raw CSV in plain
 * TypeScript (own parser, BigInt thousandths of a pound), so analytics tests compare the
 * warehouse's SQL against something that shares no code with it.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

export interface ReferenceKpis {
  orders: number;
  gross_revenue: string;
  refunds: string;
  cancelled_orders: number;
  unique_customers: number;
  items_sold: number;
}

/** The test's own CSV line splitter, independent of lib/ingest/csv. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** Price "2.55" -> 2550n thousandths. */
function milli(price: string): bigint {
  const [w, f = ''] = price.split('.');
  const neg = w.startsWith('-');
  const v = BigInt(w.replace('-', '') + f.padEnd(3, '0').slice(0, 3));
  return neg ? -v : v;
}

function money(thousandths: bigint): string {
  const s = thousandths.toString().padStart(4, '0');
  const text = `${s.slice(0, -3)}.${s.slice(-3)}`.replace(/\.?0+$/, '');
  return text === '' ? '0' : text;
}

/** M/D/YYYY H:MM -> YYYY-MM-DD. */
function isoDay(invoiceDate: string): string {
  const [m, d, y] = invoiceDate.split(' ')[0].split('/');
  return `${y}-${m.padStart(2, '0')}-${d.padStart(2, '0')}`;
}

export function referenceKpis(csvGz: string, dates: readonly string[]): Map<string, ReferenceKpis> {
  const wanted = new Set(dates);
  const acc = new Map<string, { orders: Set<string>; gross: bigint; refunds: bigint; cancelled: Set<string>; customers: Set<string>; items: number }>();
  const lines = zlib.gunzipSync(fs.readFileSync(csvGz)).toString('utf8').split('\n');
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const [inv, , , qty, date, price, cust] = splitCsvLine(line);
    const day = isoDay(date);
    if (!wanted.has(day)) continue;
    const a = acc.get(day) ?? { orders: new Set(), gross: 0n, refunds: 0n, cancelled: new Set(), customers: new Set(), items: 0 };
    acc.set(day, a);
    const q = Number(qty);
    const lineValue = BigInt(q) * milli(price);
    if (inv.startsWith('C')) {
      a.cancelled.add(inv);
      a.refunds += lineValue < 0n ? -lineValue : lineValue;
    } else if (q > 0 && milli(price) > 0n) {
      a.orders.add(inv);
      a.gross += lineValue;
      a.items += q;
      if (cust) a.customers.add(cust);
    }
  }
  const out = new Map<string, ReferenceKpis>();
  for (const [day, a] of acc) {
    out.set(day, {
      orders: a.orders.size, gross_revenue: money(a.gross), refunds: money(a.refunds),
      cancelled_orders: a.cancelled.size, unique_customers: a.customers.size, items_sold: a.items,
    });
  }
  return out;
}
