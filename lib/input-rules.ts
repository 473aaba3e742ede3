/**
 * The input rules of an order line, one set for the three ways a line comes in: the CSV ingest
 * (lib/ingest/orders.ts), the stream's validator (lib/stream/message.ts) and the prediction API
 * (api/routes/predict.ts, whose TypeBox schema is built from these constants). Each path picks
 * the rules that apply to it and words its own message, always naming the field:
 * - a stored line (ingest, stream) may carry any non-zero quantity: cancellations and the data's
 *   1,336 adjustments without a C invoice are negative; a prediction is of a sale, Quantity >= 1;
 * - a stored price may be negative (the data's "Adjust bad debt" lines); a predicted one may not;
 * - the CSV writes dates as M/D/YYYY H:MM; the stream also takes ISO; the API takes no date, only
 *   the Hour and DayOfWeek a date gives.
 * Every bound is far outside the real data (541,909 lines, checked), so ingest loads and
 * quarantines exactly what it did before the rules were shared; hostile text (SQL fragments, NUL,
 * control and format characters, emoji, 10 kB strings) in an ID field is refused everywhere.
 */

/** |Quantity| above this is absurd (the data's largest is 80,995). */
export const MAX_ABS_QUANTITY = 100_000;
/** |UnitPrice| above this is absurd (the data ranges from -11,062.06 to 38,970). */
export const MAX_UNIT_PRICE = 100_000;
/** Invoice years outside [MIN_YEAR, MAX_YEAR] are absurd (the data: 2010-2011). */
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;
/** Customer ids are positive whole numbers of up to 12 digits (the data: 12346..18287). */
export const MAX_CUSTOMER_ID = 999_999_999_999;
export const HOUR = { minimum: 0, maximum: 23 } as const;
/** 0 = Monday. */
export const DAY_OF_WEEK = { minimum: 0, maximum: 6 } as const;

/** 6 digits in the data, an optional C for a cancellation, A for adjustments; generated ones 9 digits. */
export const INVOICE_NO = /^C?[0-9A-Z]{1,12}$/;
/** The data's codes: letters, digits, space and underscore, up to 12 characters ("85123A", "BANK CHARGES", "gift_0001_40"). */
export const MAX_STOCK_CODE_CHARS = 32;
export const STOCK_CODE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,${MAX_STOCK_CODE_CHARS - 1}}$`);
/** Letters of any script, spaces and a little punctuation ("European Community", "Côte d'Ivoire"). */
export const MAX_COUNTRY_CHARS = 64;
export const COUNTRY = new RegExp(`^\\p{L}[\\p{L}\\p{M} .'’()&-]{0,${MAX_COUNTRY_CHARS - 1}}$`, 'u');
/** An exact decimal: up to 12 integer digits and 9 decimals (NUMERIC's scale on both backends). */
export const DECIMAL = /^-?\d{1,12}(\.\d{1,9})?$/;

/** What is wrong with a value, as words that follow the field's name; undefined when it is fine. */
export type Problem = string | undefined;

/** `line`: a stored line (any non-zero quantity); `sale`: a prediction (at least 1). */
export function quantityProblem(q: number, use: 'line' | 'sale'): Problem {
  if (!Number.isInteger(q)) return 'is not an integer';
  if (use === 'sale' && q < 1) return 'must be at least 1 (a prediction is of a sale)';
  if (q === 0 || Math.abs(q) > MAX_ABS_QUANTITY) return `is absurd (0, or beyond ±${MAX_ABS_QUANTITY})`;
  return undefined;
}

/** `text` must already be an exact decimal (DECIMAL). */
export function unitPriceProblem(text: string): Problem {
  if (!DECIMAL.test(text)) return 'is not a decimal number';
  if (Math.abs(Number(text)) > MAX_UNIT_PRICE) return `is absurd (beyond ±${MAX_UNIT_PRICE})`;
  return undefined;
}

export function isInvoiceNo(v: unknown): v is string {
  return typeof v === 'string' && INVOICE_NO.test(v);
}

export function isStockCode(v: unknown): v is string {
  return typeof v === 'string' && STOCK_CODE.test(v);
}

export function isCountryName(v: unknown): v is string {
  return typeof v === 'string' && COUNTRY.test(v);
}

/** A customer id as the CSV or a message writes it: null or '' for none, a number, or digits ("17850", "17850.0"). */
export function parseCustomerId(v: unknown): { ok: true; id: number | null } | { ok: false } {
  if (v === null || v === '') return { ok: true, id: null };
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\d{1,12}(\.0+)?$/.test(v)) n = Number.parseInt(v, 10);
  else return { ok: false };
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_CUSTOMER_ID ? { ok: true, id: n } : { ok: false };
}

// M/D/YYYY H:MM as written in the data set; seconds are tolerated for other exports.
const CSV_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?Z?$/;

/**
 * The data set's `M/D/YYYY H:MM`: shop-local wall time, as an ISO timestamp written as UTC with no
 * shift. Undefined unless it is a real calendar time (2/30 is not).
 */
export function parseCsvDate(text: string): string | undefined {
  const m = CSV_DATE.exec(text.trim());
  return m ? wallTime(m[3], m[1], m[2], m[4], m[5], m[6]) : undefined;
}

/** ISO `YYYY-MM-DDTHH:MM[:SS[.sss]][Z]` or the data set's form; undefined as for parseCsvDate. */
export function parseAnyDate(text: string): string | undefined {
  const m = ISO_DATE.exec(text.trim());
  return m ? wallTime(m[1], m[2], m[3], m[4], m[5], m[6]) : parseCsvDate(text);
}

/** A parsed invoice time (ISO) whose year is outside [MIN_YEAR, MAX_YEAR]. */
export function invoiceYearProblem(iso: string): Problem {
  const year = Number(iso.slice(0, 4));
  return year >= MIN_YEAR && year <= MAX_YEAR ? undefined : `is absurd (a year outside ${MIN_YEAR}..${MAX_YEAR})`;
}

function wallTime(...parts: Array<string | undefined>): string | undefined {
  const [y, mo, d, h, mi, s] = parts.map((x) => Number(x ?? 0));
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 2/30 over to 3/2 (and years 0-99 to 1900-1999); a real calendar date round-trips.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return date.toISOString();
}
