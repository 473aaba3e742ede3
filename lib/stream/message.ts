/**
 * The order-line message on the `orders` topic and its validation.
 *
 * Body: UTF-8 JSON in the seed's shape (the CSV's column names) plus `event_id`:
 *   { event_id, InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country }
 * and, on a line republished from a loaded file (stream replay), that line's identity:
 *   { source_sha256, source_line_no } = orders_raw's source_sha256 and line_no (both or neither).
 * order_lines (lib/order-lines.ts) counts a streamed line whose identity is loaded once.
 * Attributes: `schema_version` (SCHEMA_VERSION), `source` (generator | replay | …), `published_at` (ISO).
 *
 * Validation reuses the ingest rules (lib/ingest/orders.ts) for formats, and adds what a stream
 * needs on top: JSON types, a size limit, and bounds on values no real line comes near.
 */
import { createHash } from 'node:crypto';
import { parseInvoiceDate } from '../ingest/orders';
import type { Row } from '../warehouse/types';
import { MAX_ABS_QUANTITY, MAX_UNIT_PRICE, MAX_YEAR, MIN_YEAR } from '../input-rules';
import { canonicalDecimal, decimalToScaled, scaledToDecimal } from '../warehouse/values';

export const SCHEMA_VERSION = '1';

/** A line as published (the seed's shape). UnitPrice may be a JSON number or an exact decimal string. */
export interface OrderLineMessage {
  event_id?: string;
  InvoiceNo: string;
  StockCode: string;
  Description: string | null;
  Quantity: number;
  InvoiceDate: string;
  UnitPrice: number | string;
  CustomerID: number | string | null;
  Country: string;
  /** The loaded line this republishes: SHA-256 (hex) of its file's text ... */
  source_sha256?: string | null;
  /** ... and its line number there (orders_raw.line_no). */
  source_line_no?: number | null;
}

/** A validated line, normalised to the warehouse's types. */
export interface ValidLine {
  /** From the message, or `sha256:<hex>` of the normalised content when the message has none. */
  eventId: string;
  eventIdSource: 'message' | 'content-hash';
  invoiceNo: string;
  stockCode: string;
  description: string | null;
  quantity: number;
  /** ISO timestamp, shop-local wall time written as UTC (as orders_raw stores it). */
  invoiceTs: string;
  invoiceDate: string;
  /** Exact decimal string. */
  unitPrice: string;
  customerId: number | null;
  country: string;
  isCancellation: boolean;
  /** quantity x unit_price, exact. */
  lineValue: string;
  /** The identity of the loaded line this republishes, or null for a new line. */
  sourceSha256: string | null;
  sourceLineNo: number | null;
}

export type Validation = { ok: true; line: ValidLine } | { ok: false; reason: string };

export interface ValidationLimits {
  /** Bodies larger than this are rejected before parsing. */
  maxBytes: number;
  /** |Quantity| above this is absurd (the data's largest is 80,995). */
  maxAbsQuantity: number;
  /** |UnitPrice| above this is absurd (the data ranges from -11,062.06 to 38,970). */
  maxUnitPrice: number;
}

export const DEFAULT_LIMITS: ValidationLimits = { maxBytes: 8_192, maxAbsQuantity: MAX_ABS_QUANTITY, maxUnitPrice: MAX_UNIT_PRICE };

const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const ISO_TS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?Z?$/;
const DECIMAL = /^-?\d{1,12}(\.\d{1,9})?$/;
const FIELDS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;
const SCALE = 9;

export function validateMessage(data: Buffer, limits: ValidationLimits = DEFAULT_LIMITS): Validation {
  if (data.length > limits.maxBytes) return fail(`payload too large: ${data.length} bytes > ${limits.maxBytes}`);
  let body: unknown;
  try {
    body = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return fail(`bad JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('body is not a JSON object');
  const o = body as Record<string, unknown>;
  for (const f of FIELDS) if (!(f in o)) return fail(`missing field ${f}`);

  const invoiceNo = o.InvoiceNo;
  if (typeof invoiceNo !== 'string' || !/^C?[0-9A-Z]{1,12}$/.test(invoiceNo)) return fail(`InvoiceNo is not an invoice number: ${show(invoiceNo)}`);
  const stockCode = o.StockCode;
  if (typeof stockCode !== 'string' || stockCode.trim() === '' || stockCode.length > 32) return fail(`StockCode is not a stock code: ${show(stockCode)}`);
  const description = o.Description;
  if (description !== null && (typeof description !== 'string' || description.length > 500)) return fail(`Description is not a string or null: ${show(description)}`);
  const quantity = o.Quantity;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity)) return fail(`Quantity is not an integer: ${show(quantity)}`);
  if (quantity === 0 || Math.abs(quantity) > limits.maxAbsQuantity) return fail(`Quantity is absurd: ${quantity}`);
  const ts = typeof o.InvoiceDate === 'string' ? parseTimestamp(o.InvoiceDate) : undefined;
  if (ts === undefined) return fail(`InvoiceDate is not a date-time: ${show(o.InvoiceDate)}`);
  const year = Number(ts.slice(0, 4));
  if (year < MIN_YEAR || year > MAX_YEAR) return fail(`InvoiceDate is absurd: ${ts}`);
  const unitPrice = priceText(o.UnitPrice);
  if (unitPrice === undefined) return fail(`UnitPrice is not a decimal: ${show(o.UnitPrice)}`);
  if (Math.abs(Number(unitPrice)) > limits.maxUnitPrice) return fail(`UnitPrice is absurd: ${unitPrice}`);
  const customerId = customerOf(o.CustomerID);
  if (customerId === undefined) return fail(`CustomerID is not a positive integer or null: ${show(o.CustomerID)}`);
  const country = o.Country;
  if (typeof country !== 'string' || country.trim() === '' || country.length > 64) return fail(`Country is not a country name: ${show(country)}`);

  const identity = identityOf(o.source_sha256, o.source_line_no);
  if (typeof identity === 'string') return fail(identity);

  let eventId: string;
  let eventIdSource: ValidLine['eventIdSource'];
  if (o.event_id === undefined || o.event_id === null) {
    eventIdSource = 'content-hash';
    eventId = contentHash({ invoiceNo, stockCode, description, quantity, invoiceTs: ts, unitPrice, customerId, country });
  } else if (typeof o.event_id === 'string' && EVENT_ID.test(o.event_id)) {
    eventIdSource = 'message';
    eventId = o.event_id;
  } else {
    return fail(`event_id is not a valid id: ${show(o.event_id)}`);
  }
  return {
    ok: true,
    line: {
      eventId,
      eventIdSource,
      invoiceNo,
      stockCode,
      description,
      quantity,
      invoiceTs: ts,
      invoiceDate: ts.slice(0, 10),
      unitPrice,
      customerId,
      country,
      isCancellation: invoiceNo.startsWith('C'),
      lineValue: multiply(quantity, unitPrice),
      sourceSha256: identity.sha256,
      sourceLineNo: identity.lineNo,
    },
  };
}

/** Both identity fields or neither (absent or null); a reason string when they are malformed. */
function identityOf(sha: unknown, lineNo: unknown): { sha256: string | null; lineNo: number | null } | string {
  const none = (v: unknown) => v === undefined || v === null;
  if (none(sha) && none(lineNo)) return { sha256: null, lineNo: null };
  if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) return `source_sha256 is not a SHA-256 in hex: ${show(sha)}`;
  if (typeof lineNo !== 'number' || !Number.isSafeInteger(lineNo) || lineNo < 1) return `source_line_no is not a line number: ${show(lineNo)}`;
  return { sha256: sha, lineNo };
}

/** The dedupe key of a seed-shaped line without an event_id: stable across publishers and restarts. */
export function contentHash(l: Pick<ValidLine, 'invoiceNo' | 'stockCode' | 'description' | 'quantity' | 'invoiceTs' | 'unitPrice' | 'customerId' | 'country'>): string {
  const canonical = JSON.stringify([l.invoiceNo, l.stockCode, l.description, l.quantity, l.invoiceTs, canonicalDecimal(l.unitPrice), l.customerId, l.country]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** Exact quantity x price as a decimal string. */
export function multiply(quantity: number, price: string): string {
  return scaledToDecimal(BigInt(quantity) * decimalToScaled(price, SCALE), SCALE);
}

/** Is the decimal `a` strictly greater than `b`? Exact. */
export function decimalGreater(a: string, b: string): boolean {
  return decimalToScaled(a, SCALE) > decimalToScaled(b, SCALE);
}

/** ISO `YYYY-MM-DDTHH:MM[:SS[.sss]][Z]` or the data set's `M/D/YYYY H:MM`; undefined if neither or not a real time. */
export function parseTimestamp(text: string): string | undefined {
  const m = ISO_TS.exec(text.trim());
  if (!m) return parseInvoiceDate(text)?.iso;
  const [y, mo, d, h, mi, s = '0'] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(ms);
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== d || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  return date.toISOString();
}

function priceText(v: unknown): string | undefined {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    text = String(v); // shortest round-trip form: 2.55 -> "2.55"; exponents fail the pattern below
  } else if (typeof v === 'string') {
    text = v.trim();
  } else {
    return undefined;
  }
  return DECIMAL.test(text) ? canonicalDecimal(text) : undefined;
}

function customerOf(v: unknown): number | null | undefined {
  if (v === null || v === '') return null;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  if (typeof v === 'string' && /^\d{1,12}(\.0+)?$/.test(v)) {
    const n = Number.parseInt(v, 10);
    return n > 0 ? n : undefined;
  }
  return undefined;
}

function fail(reason: string): Validation {
  return { ok: false, reason };
}

function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** The body the generator and replay publish. */
export function toMessage(line: Omit<OrderLineMessage, 'event_id'>, eventId: string | undefined): OrderLineMessage {
  return eventId === undefined ? { ...line } : { event_id: eventId, ...line };
}

/** orders_raw row -> message body fields (replay), with the line's identity. */
export function rawRowToMessage(r: Row): Omit<OrderLineMessage, 'event_id'> {
  return {
    InvoiceNo: String(r.invoice_no),
    StockCode: String(r.stock_code),
    Description: r.description === null ? null : String(r.description),
    Quantity: Number(r.quantity),
    InvoiceDate: String(r.invoice_ts).replace('.000Z', ''),
    UnitPrice: String(r.unit_price),
    CustomerID: r.customer_id === null ? null : Number(r.customer_id),
    Country: String(r.country),
    source_sha256: String(r.source_sha256),
    source_line_no: Number(r.line_no),
  };
}
