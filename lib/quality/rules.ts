/**
 * The line-level rules of the data-quality checks, as SQL predicates over an orders_raw-shaped
 * table. Written once in the SQL both DuckDB and BigQuery run (no regular expressions: the two
 * dialects spell them differently).
 */

/** The 36 countries of the data, plus the two placeholders it uses (treated as known values). */
export const KNOWN_COUNTRIES: readonly string[] = [
  'Australia', 'Austria', 'Bahrain', 'Belgium', 'Brazil', 'Canada', 'Channel Islands', 'Cyprus',
  'Czech Republic', 'Denmark', 'EIRE', 'Finland', 'France', 'Germany', 'Greece', 'Hong Kong',
  'Iceland', 'Israel', 'Italy', 'Japan', 'Lebanon', 'Lithuania', 'Malta', 'Netherlands', 'Norway',
  'Poland', 'Portugal', 'RSA', 'Saudi Arabia', 'Singapore', 'Spain', 'Sweden', 'Switzerland', 'USA',
  'United Arab Emirates', 'United Kingdom',
  // Placeholders, not countries: the shop records them; the completeness of country is not judged here.
  'European Community', 'Unspecified',
];

const DIGITS = "('0','1','2','3','4','5','6','7','8','9')";
const sqlList = (values: readonly string[]) => `(${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')})`;

/**
 * Non-product stock codes: a product code starts with a digit (5 digits, sometimes a letter
 * suffix). Everything else is a service or accounting line (POST, DOT, M, C2, D, S, BANK CHARGES,
 * AMAZONFEE, CRUK, PADS, B, gift_0001_* vouchers), except the DCGS* codes, which are real
 * products (party bags, gift sets) with ordinary descriptions and prices.
 */
export const NON_PRODUCT_CODE = `(SUBSTR(stock_code, 1, 1) NOT IN ${DIGITS} AND stock_code NOT LIKE 'DCGS%')`;

/** Known InvoiceNo prefixes: none (6 digits) and C (cancellation). A is a bad-debt adjustment. */
export const UNKNOWN_INVOICE_PREFIX = `(SUBSTR(invoice_no, 1, 1) NOT IN ${DIGITS} AND SUBSTR(invoice_no, 1, 1) <> 'C')`;

/** Bad-debt adjustments ("Adjust bad debt") carry their amount as a negative price by design. */
export const ADJUSTMENT_INVOICE = `(invoice_no LIKE 'A%')`;

export const SALE_LINE = '(NOT is_cancellation AND quantity > 0 AND unit_price > 0)';

export type RuleKind = 'rate' | 'count' | 'distinct-invoices';

export interface LineRule {
  check: string;
  category: string;
  /** Lines the rule flags (counted, and sampled for example keys). */
  flags: string;
  /** The subset of flagged lines that counts towards severity; default all of them. */
  counts?: string;
  kind: RuleKind;
  describe: string;
}

export const LINE_RULES: readonly LineRule[] = [
  { check: 'completeness.missing_customer_id', category: 'completeness', kind: 'rate',
    flags: 'customer_id IS NULL', describe: 'share of lines without CustomerID' },
  { check: 'completeness.missing_description', category: 'completeness', kind: 'rate',
    flags: "(description IS NULL OR TRIM(description) = '')", describe: 'share of lines without Description' },
  { check: 'validity.zero_price', category: 'validity', kind: 'count',
    flags: '(NOT is_cancellation AND unit_price = 0)', describe: 'non-cancellation lines with UnitPrice 0' },
  { check: 'validity.negative_price', category: 'validity', kind: 'count',
    flags: '(unit_price < 0)', counts: `(unit_price < 0 AND NOT ${ADJUSTMENT_INVOICE})`,
    describe: 'lines with a negative UnitPrice outside bad-debt adjustments (A invoices)' },
  { check: 'validity.negative_quantity', category: 'validity', kind: 'count',
    flags: '(NOT is_cancellation AND quantity < 0)', describe: 'negative Quantity on a non-cancellation invoice' },
  { check: 'validity.invoice_prefix', category: 'validity', kind: 'distinct-invoices',
    flags: UNKNOWN_INVOICE_PREFIX, describe: 'invoices whose prefix is neither none nor C' },
  { check: 'validity.non_product_code', category: 'validity', kind: 'rate',
    flags: NON_PRODUCT_CODE, describe: 'share of lines with a non-product StockCode' },
  { check: 'validity.unknown_country', category: 'validity', kind: 'count',
    flags: `(country NOT IN ${sqlList(KNOWN_COUNTRIES)})`, describe: 'lines whose Country is not in the reference list' },
];
