/**
 * A synthetic order stream sampled from the real data (orders_raw), reproducible by seed.
 *
 * Sampled from the data: (stock code, description, unit price, quantity) of real lines, jointly,
 * so codes keep their descriptions and usual prices; invoice-level country, hour of day and
 * weekday; basket sizes (lines per invoice) separately for sales and cancellations; the share of
 * cancelled invoices; the share of guest invoices (no CustomerID); the share of invoices by a new
 * customer; and which known customers buy from which country.
 * Filled in by @faker-js/faker (seeded with the same seed): event ids and new customer ids.
 * The simulated calendar starts on `start` (a Monday by default) and advances one week per real
 * week's worth of invoices.
 * Invoice numbers are 9 digits from GENERATED_INVOICE_BASE (900000000; a cancellation adds the
 * leading C, as in the data), a range of their own: real InvoiceNo are 6 digits (536365..581587),
 * so a generated invoice can never be taken for, or merged with, a real one.
 */
import { Faker, en } from '@faker-js/faker';
import type { Warehouse } from '../warehouse/types';
import type { OrderLineMessage } from './message';
import type { OutboundLine } from './publisher';
import { mulberry32, WeightedSampler, type Rng } from './random';

export interface LineCombo {
  stockCode: string;
  description: string | null;
  unitPrice: string;
  quantity: number;
  lines: number;
}

export interface Weighted<T> {
  value: T;
  weight: number;
}

export interface DataProfile {
  saleLines: LineCombo[];
  cancelLines: LineCombo[];
  countries: Weighted<string>[];
  hours: Weighted<number>[];
  /** 0 = Monday … 6 = Sunday. */
  weekdays: Weighted<number>[];
  saleBasketSizes: Weighted<number>[];
  cancelBasketSizes: Weighted<number>[];
  cancellationInvoiceShare: number;
  guestInvoiceShare: number;
  /** Among invoices with a customer: the share that is the customer's first (second half of the data, past the warm-up). */
  newCustomerShare: number;
  customersByCountry: Record<string, Weighted<number>[]>;
  invoicesPerWeek: number;
  /** The data's largest invoice number (6 digits); generated invoices use their own range, GENERATED_INVOICE_BASE. */
  maxInvoiceNo: number;
  maxCustomerId: number;
}

/**
 * The simulated calendar starts again after this many weeks: a small profile (a few invoices a
 * week) would otherwise pass 2100 after ~300,000 lines, where the stream's own input rules refuse
 * the date (lib/input-rules.ts), so a long run turned into dead letters. Invoice numbers keep
 * counting, so no line repeats.
 */
export const CALENDAR_WEEKS = 52 * 80;

export interface GeneratorOptions {
  seed: number;
  /** First simulated day, YYYY-MM-DD (default 2011-12-12, the Monday after the data ends). */
  start?: string;
  /**
   * Live orders: every invoice is stamped with the shop's current local time (the data's
   * InvoiceDate is shop time, no zone) instead of a simulated calendar. Same sampling otherwise.
   */
  live?: { timeZone: string; now?: () => Date };
  /** Invoices already generated before this run (numbers continue after them); default 0. */
  firstInvoice?: number;
}

/**
 * How many generated invoices the warehouse has already stored (the next run's offset), so that
 * `stream generate --live` never reuses an invoice number of an earlier run. Lines still in
 * flight when a run starts are not seen: run one live generator at a time.
 */
export async function nextGeneratedInvoice(wh: Warehouse): Promise<number> {
  const [row] = await wh.query<{ m: number | null }>(`
    SELECT MAX(CAST(REPLACE(invoice_no, 'C', '') AS INT64)) AS m FROM orders_stream
    WHERE LENGTH(REPLACE(invoice_no, 'C', '')) = 9 AND REPLACE(invoice_no, 'C', '') >= '${GENERATED_INVOICE_BASE}'`).catch(() => [{ m: null }]);
  return row?.m === null || row?.m === undefined ? 0 : Number(row.m) - GENERATED_INVOICE_BASE + 1;
}

/** "YYYY-MM-DD HH:MM:00" of an instant on the wall clock of `timeZone`. */
export function shopLocalTimestamp(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:00`;
}

export const DEFAULT_START = '2011-12-12';

/** The first generated invoice number; generated ones are GENERATED_INVOICE_BASE + n, n < 100,000,000. */
export const GENERATED_INVOICE_BASE = 900_000_000;
const GENERATED_INVOICE_LIMIT = 1_000_000_000;

/** Is this invoice number (with or without the leading C) in the generator's range? */
export function isGeneratedInvoice(invoiceNo: string): boolean {
  return /^C?9\d{8}$/.test(invoiceNo);
}

/** Read the distributions from orders_raw (portable SQL; a few seconds on the full year). */
export async function loadProfile(wh: Warehouse): Promise<DataProfile> {
  const combos = await wh.query<{ stock_code: string; description: string | null; unit_price: string; quantity: number; n: number; c: boolean }>(
    `SELECT stock_code, description, unit_price, quantity, is_cancellation AS c, COUNT(*) AS n
     FROM orders_raw WHERE unit_price > 0 AND quantity <> 0
     GROUP BY stock_code, description, unit_price, quantity, is_cancellation`,
  );
  if (combos.length === 0) throw new Error('orders_raw is empty: load the data first ("retailflow ingest")');
  const invoices = await wh.query<{ invoice_no: string; ts: string; customer_id: number | null; country: string; n: number; c: number }>(
    `SELECT invoice_no, MIN(invoice_ts) AS ts, MIN(customer_id) AS customer_id, MIN(country) AS country, COUNT(*) AS n,
            MAX(CASE WHEN is_cancellation THEN 1 ELSE 0 END) AS c
     FROM orders_raw GROUP BY invoice_no`,
  );
  return buildProfile(combos, invoices);
}

export function buildProfile(
  combos: readonly { stock_code: string; description: string | null; unit_price: string; quantity: number; n: number; c: boolean }[],
  invoices: readonly { invoice_no: string; ts: string; customer_id: number | null; country: string; n: number; c: number }[],
): DataProfile {
  const toCombo = (r: (typeof combos)[number]): LineCombo => ({ stockCode: r.stock_code, description: r.description, unitPrice: r.unit_price, quantity: Number(r.quantity), lines: Number(r.n) });
  const count = <T>(map: Map<T, number>, key: T): void => void map.set(key, (map.get(key) ?? 0) + 1);
  const weighted = <T>(map: Map<T, number>): Weighted<T>[] => [...map].map(([value, weight]) => ({ value, weight }));

  const countries = new Map<string, number>();
  const hours = new Map<number, number>();
  const weekdays = new Map<number, number>();
  const saleSizes = new Map<number, number>();
  const cancelSizes = new Map<number, number>();
  const customers = new Map<string, Map<number, number>>();
  const firstSeen = new Map<number, string>();
  let cancelled = 0;
  let guests = 0;
  let maxInvoiceNo = 0;
  let maxCustomerId = 0;
  let minTs = '9999';
  let maxTs = '0000';
  const sorted = [...invoices].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  for (const inv of sorted) {
    const ts = new Date(inv.ts);
    count(countries, inv.country);
    count(hours, ts.getUTCHours());
    count(weekdays, (ts.getUTCDay() + 6) % 7);
    if (inv.c) {
      cancelled += 1;
      count(cancelSizes, Number(inv.n));
    } else {
      count(saleSizes, Number(inv.n));
    }
    if (inv.customer_id === null) guests += 1;
    else {
      const id = Number(inv.customer_id);
      let perCountry = customers.get(inv.country);
      if (!perCountry) customers.set(inv.country, (perCountry = new Map()));
      count(perCountry, id);
      if (!firstSeen.has(id)) firstSeen.set(id, inv.invoice_no);
      maxCustomerId = Math.max(maxCustomerId, id);
    }
    maxInvoiceNo = Math.max(maxInvoiceNo, Number.parseInt(inv.invoice_no.replace(/^\D+/, ''), 10) || 0);
    if (inv.ts < minTs) minTs = inv.ts;
    if (inv.ts > maxTs) maxTs = inv.ts;
  }
  // New-customer share over the second half of the period: early on every customer looks new.
  const half = sorted.slice(Math.floor(sorted.length / 2)).filter((i) => i.customer_id !== null && !i.c);
  const firsts = half.filter((i) => firstSeen.get(Number(i.customer_id)) === i.invoice_no).length;
  const weeks = Math.max(1, (Date.parse(maxTs) - Date.parse(minTs)) / (7 * 86_400_000));
  return {
    saleLines: combos.filter((r) => !r.c && r.quantity > 0).map(toCombo),
    cancelLines: combos.filter((r) => r.c && r.quantity < 0).map(toCombo),
    countries: weighted(countries),
    hours: weighted(hours),
    weekdays: weighted(weekdays),
    saleBasketSizes: weighted(saleSizes),
    cancelBasketSizes: weighted(cancelSizes),
    cancellationInvoiceShare: invoices.length ? cancelled / invoices.length : 0,
    guestInvoiceShare: invoices.length ? guests / invoices.length : 0,
    newCustomerShare: half.length ? firsts / half.length : 0,
    customersByCountry: Object.fromEntries([...customers].map(([c, m]) => [c, weighted(m)])),
    invoicesPerWeek: Math.max(1, Math.round(invoices.length / weeks)),
    maxInvoiceNo,
    maxCustomerId,
  };
}

function sampler<T>(items: readonly Weighted<T>[]): WeightedSampler<T> {
  return new WeightedSampler(items.map((i) => i.value), items.map((i) => i.weight));
}

/** An endless, reproducible stream of order lines, invoice by invoice (InvoiceNo is the ordering key). */
export function* generateLines(profile: DataProfile, opts: GeneratorOptions): Generator<OutboundLine & { body: OrderLineMessage }> {
  const rng: Rng = mulberry32(opts.seed);
  const faker = new Faker({ locale: [en] });
  faker.seed(opts.seed);
  const start = Date.parse(`${opts.start ?? DEFAULT_START}T00:00:00Z`);
  if (Number.isNaN(start)) throw new Error(`not a date: ${opts.start}`);
  const sale = new WeightedSampler(profile.saleLines, profile.saleLines.map((c) => c.lines));
  const cancel = profile.cancelLines.length > 0 ? new WeightedSampler(profile.cancelLines, profile.cancelLines.map((c) => c.lines)) : sale;
  const countries = sampler(profile.countries);
  const hours = sampler(profile.hours);
  const weekdays = sampler(profile.weekdays);
  const saleSizes = sampler(profile.saleBasketSizes);
  const cancelSizes = profile.cancelBasketSizes.length > 0 ? sampler(profile.cancelBasketSizes) : saleSizes;
  const customerSamplers = new Map<string, WeightedSampler<number>>();
  const newCustomers = new Set<number>();
  const known = new Set(Object.values(profile.customersByCountry).flatMap((l) => l.map((c) => c.value)));

  const customerFor = (country: string): number | null => {
    if (rng() < profile.guestInvoiceShare) return null;
    const pool = profile.customersByCountry[country];
    if (pool && pool.length > 0 && rng() >= profile.newCustomerShare) {
      let s = customerSamplers.get(country);
      if (!s) customerSamplers.set(country, (s = sampler(pool)));
      return s.sample(rng);
    }
    // A new customer: an id the data never used (the data's ids are 5 digits).
    for (;;) {
      const id = faker.number.int({ min: profile.maxCustomerId + 1, max: 99_999 });
      if (!known.has(id) && !newCustomers.has(id)) {
        newCustomers.add(id);
        return id;
      }
    }
  };

  for (let invoice = 0; ; invoice++) {
    const isCancel = rng() < profile.cancellationInvoiceShare;
    const number = GENERATED_INVOICE_BASE + (opts.firstInvoice ?? 0) + invoice;
    if (number >= GENERATED_INVOICE_LIMIT) throw new Error(`the generator's invoice range is used up after ${invoice} invoices`);
    const invoiceNo = `${isCancel ? 'C' : ''}${number}`;
    const country = countries.sample(rng);
    const customerId = customerFor(country);
    const size = (isCancel ? cancelSizes : saleSizes).sample(rng);
    const week = Math.floor(invoice / profile.invoicesPerWeek) % CALENDAR_WEEKS;
    const day = week * 7 + weekdays.sample(rng);
    const ts = new Date(start + day * 86_400_000 + hours.sample(rng) * 3_600_000 + Math.floor(rng() * 60) * 60_000);
    const invoiceDate = opts.live ? shopLocalTimestamp((opts.live.now ?? (() => new Date()))(), opts.live.timeZone) : ts.toISOString().slice(0, 16).replace('T', ' ') + ':00';
    for (let i = 0; i < size; i++) {
      const combo = (isCancel ? cancel : sale).sample(rng);
      yield {
        orderingKey: invoiceNo,
        body: {
          event_id: faker.string.uuid(),
          InvoiceNo: invoiceNo,
          StockCode: combo.stockCode,
          Description: combo.description,
          Quantity: combo.quantity,
          InvoiceDate: invoiceDate,
          UnitPrice: Number(combo.unitPrice),
          CustomerID: customerId,
          Country: country,
        },
      };
    }
  }
}

/** The first `n` items of an iterable. */
export function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}
