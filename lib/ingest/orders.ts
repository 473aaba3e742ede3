/**
 * Turns one CSV record of the Online Retail format into a typed `orders_raw` row, or into a
 * reason why it cannot be loaded. The rules are the shared ones (lib/input-rules.ts), as a stored
 * line needs them: values that are odd but real (negative quantities and prices, zero prices,
 * missing customers) are loaded as they are and data quality checks flag them later; what breaks
 * a rule (a fractional or zero quantity, an absurd price, an impossible date, an ID that is no ID)
 * is quarantined with the reason.
 */
import { invoiceYearProblem, isCountryName, isInvoiceNo, isStockCode, parseCsvDate, parseCustomerId, quantityProblem, unitPriceProblem, type Problem } from '../input-rules';
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
  const customer = parseCustomerId(customerId);
  const iso = parseCsvDate(invoiceDate);
  const reason =
    idReason('InvoiceNo', invoiceNo, isInvoiceNo(invoiceNo), 'is not an invoice number') ??
    idReason('StockCode', stockCode, isStockCode(stockCode), 'is not a stock code') ??
    reasonOf('Quantity', quantity, INTEGER.test(quantity) ? quantityProblem(Number(quantity), 'line') : 'is not an integer') ??
    reasonOf('UnitPrice', unitPrice, unitPriceProblem(unitPrice)) ??
    reasonOf('CustomerID', customerId, customer.ok ? undefined : 'is not a positive integer') ??
    idReason('Country', country, isCountryName(country), 'is not a country name') ??
    reasonOf('InvoiceDate', invoiceDate, iso === undefined ? 'is not a valid M/D/YYYY H:MM date' : invoiceYearProblem(iso));
  if (reason !== undefined || !customer.ok || iso === undefined) return { ok: false, reason: reason ?? 'unparsable line' };
  return {
    ok: true,
    row: {
      invoice_no: invoiceNo,
      stock_code: stockCode,
      description: description === '' ? null : description,
      quantity: Number(quantity),
      invoice_ts: iso,
      invoice_date: iso.slice(0, 10),
      unit_price: unitPrice,
      customer_id: customer.ok ? customer.id : null,
      country,
      is_cancellation: invoiceNo.startsWith('C'),
      source_sha256: sourceSha256,
      line_no: lineNo,
    },
  };
}

/** Shop-local wall time, stored as a zone-less timestamp (written as UTC) with no shift. */
export function parseInvoiceDate(text: string): { iso: string } | undefined {
  const iso = parseCsvDate(text);
  return iso === undefined ? undefined : { iso };
}

/** `Field problem: "text"`, or undefined when there is no problem. */
function reasonOf(field: string, text: string, problem: Problem): string | undefined {
  return problem === undefined ? undefined : `${field} ${problem}: "${clip(text)}"`;
}

/** A required ID: empty, or not of its shape. */
function idReason(field: string, text: string, ok: boolean, problem: string): string | undefined {
  if (text.trim() === '') return `${field} is empty`;
  return ok ? undefined : reasonOf(field, text, problem);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
