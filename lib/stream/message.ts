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
 * Validation applies the shared input rules (lib/input-rules.ts) as a stored line needs them, as
 * the ingest does, and adds what a stream needs on top: JSON types, a size limit, ISO dates.
 */
import { createHash } from 'node:crypto';
import type { Row } from '../warehouse/types';
import { DECIMAL, invoiceYearProblem, isCountryName, isInvoiceNo, isStockCode, parseAnyDate, parseCustomerId, quantityProblem, unitPriceProblem } from '../input-rules';
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
  /** Bodies larger than this are rejected before parsing. The bounds on values are the shared ones (lib/input-rules.ts). */
  maxBytes: number;
}

export const DEFAULT_LIMITS: ValidationLimits = { maxBytes: 8_192 };

const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const FIELDS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'] as const;
const SCALE = 9;
/** Fatal: bytes that are not UTF-8 would be stored as U+FFFD, i.e. not as sent (test/fuzz). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** A UTF-16 surrogate not in a pair (JSON's "\ud800"): no UTF-8 form, so not storable as sent. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function validateMessage(data: Buffer, limits: ValidationLimits = DEFAULT_LIMITS): Validation {
  if (data.length > limits.maxBytes) return fail(`payload too large: ${data.length} bytes > ${limits.maxBytes}`);
  let text: string;
  try {
    text = UTF8.decode(data);
  } catch {
    return fail('body is not valid UTF-8');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return fail(`bad JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('body is not a JSON object');
  const o = body as Record<string, unknown>;
  for (const f of FIELDS) if (!(f in o)) return fail(`missing field ${f}`);

  const invoiceNo = o.InvoiceNo;
  if (!isInvoiceNo(invoiceNo)) return reject('InvoiceNo', invoiceNo, 'is not an invoice number');
  const stockCode = o.StockCode;
  if (!isStockCode(stockCode)) return reject('StockCode', stockCode, 'is not a stock code');
  const description = o.Description;
  if (description !== null && (typeof description !== 'string' || description.length > 500)) return reject('Description', description, 'is not a string or null');
  if (typeof description === 'string' && LONE_SURROGATE.test(description)) return reject('Description', description, 'has a lone UTF-16 surrogate (not Unicode text)');
  const quantity = o.Quantity;
  if (typeof quantity !== 'number') return reject('Quantity', quantity, 'is not an integer');
  const quantityWrong = quantityProblem(quantity, 'line');
  if (quantityWrong) return reject('Quantity', quantity, quantityWrong);
  const ts = typeof o.InvoiceDate === 'string' ? parseTimestamp(o.InvoiceDate) : undefined;
  if (ts === undefined) return reject('InvoiceDate', o.InvoiceDate, 'is not a date-time');
  const yearWrong = invoiceYearProblem(ts);
  if (yearWrong) return reject('InvoiceDate', ts, yearWrong);
  const unitPrice = priceText(o.UnitPrice);
  if (unitPrice === undefined) return reject('UnitPrice', o.UnitPrice, 'is not a decimal number');
  const priceWrong = unitPriceProblem(unitPrice);
  if (priceWrong) return reject('UnitPrice', unitPrice, priceWrong);
  const customer = parseCustomerId(o.CustomerID);
  if (!customer.ok) return reject('CustomerID', o.CustomerID, 'is not a positive integer or null');
  const customerId = customer.id;
  const country = o.Country;
  if (!isCountryName(country)) return reject('Country', country, 'is not a country name');

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
  return parseAnyDate(text);
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

/** `Field problem: value`. */
function reject(field: string, value: unknown, problem: string): Validation {
  return fail(`${field} ${problem}: ${show(value)}`);
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
