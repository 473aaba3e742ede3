/**
 * Turns one CSV record of the Online Retail format into a typed `orders_raw` row, or into a
 * reason why it cannot be loaded. Values that are odd but real (negative quantities, zero
 * prices, missing customers) are loaded as they are; data quality checks flag them later.
 */
import type { Row } from '../warehouse/types';

export const EXPECTED_HEADER = [
  'InvoiceNo',
  'StockCode',
  'Description',
  'Quantity',
  'InvoiceDate',
  'UnitPrice',
  'CustomerID',
  'Country',
] as const;

export type ParsedLine = { ok: true; row: Row } | { ok: false; reason: string };

const INTEGER = /^-?\d{1,9}$/;
const DECIMAL = /^-?\d{1,12}(\.\d{1,9})?$/;
const CUSTOMER = /^\d{1,12}(\.0+)?$/;
// M/D/YYYY H:MM as written in the data set; seconds are tolerated for other exports.
const INVOICE_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/;

export function headerProblem(fields: readonly string[] | undefined): string | undefined {
  const got = (fields ?? []).map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f).trim());
  if (got.join(',') === EXPECTED_HEADER.join(',')) return undefined;
  return `wrong header: expected columns ${EXPECTED_HEADER.join(',')} but found ${got.join(',') || '(empty line)'}`;
}

export function parseOrderLine(fields: readonly string[], sourceSha256: string, lineNo: number): ParsedLine {
  if (fields.length !== EXPECTED_HEADER.length) {
    return { ok: false, reason: `expected ${EXPECTED_HEADER.length} columns, got ${fields.length}` };
  }
  const [invoiceNo, stockCode, description, quantity, invoiceDate, unitPrice, customerId, country] = fields;
  if (invoiceNo.trim() === '') return { ok: false, reason: 'InvoiceNo is empty' };
  if (stockCode.trim() === '') return { ok: false, reason: 'StockCode is empty' };
  if (!INTEGER.test(quantity)) return { ok: false, reason: `Quantity is not an integer: "${clip(quantity)}"` };
  if (!DECIMAL.test(unitPrice)) return { ok: false, reason: `UnitPrice is not a decimal number: "${clip(unitPrice)}"` };
  if (customerId !== '' && !CUSTOMER.test(customerId)) {
    return { ok: false, reason: `CustomerID is not an integer: "${clip(customerId)}"` };
  }
  if (country.trim() === '') return { ok: false, reason: 'Country is empty' };
  const ts = parseInvoiceDate(invoiceDate);
  if (ts === undefined) return { ok: false, reason: `InvoiceDate is not a valid M/D/YYYY H:MM date: "${clip(invoiceDate)}"` };
  return {
    ok: true,
    row: {
      invoice_no: invoiceNo,
      stock_code: stockCode,
      description: description === '' ? null : description,
      quantity: Number(quantity),
      invoice_ts: ts.iso,
      invoice_date: ts.iso.slice(0, 10),
      unit_price: unitPrice,
      customer_id: customerId === '' ? null : Number.parseInt(customerId, 10),
      country,
      is_cancellation: invoiceNo.startsWith('C'),
      source_sha256: sourceSha256,
      line_no: lineNo,
    },
  };
}

/** Shop-local wall time, stored as a zone-less timestamp (written as UTC) with no shift. */
export function parseInvoiceDate(text: string): { iso: string } | undefined {
  const m = INVOICE_DATE.exec(text.trim());
  if (!m) return undefined;
  const [month, day, year, hour, minute, second = '0'] = m.slice(1).map((x) => (x === undefined ? x : Number(x)));
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const d = new Date(ms);
  // Date.UTC rolls 2/30 over to 3/2; a real calendar date round-trips.
  if (d.getUTCMonth() !== Number(month) - 1 || d.getUTCDate() !== day || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    return undefined;
  }
  return { iso: d.toISOString() };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
