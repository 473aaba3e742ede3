/**
 * What the fuzz tests (test/fuzz/*.test.ts, issue 15 point 3) generate: hostile strings, order
 * lines that are valid by construction, and JSON objects written by hand so that keys such as
 * "__proto__" and repeated keys reach the parser as a client would send them.
 *
 * Every property runs with a fixed seed, so a failure is reproducible: fast-check prints the seed
 * and the path of the shrunk counterexample, which go into `{ seed, path }` of a regression run.
 */
import fc from 'fast-check';
import { MAX_ABS_QUANTITY, MAX_CUSTOMER_ID } from '../../lib/input-rules';
import type { InboundMessage } from '../../lib/stream/consumer';

export const SEED = 0x5eed;

export const SQL_FRAGMENTS = [
  "'; DROP TABLE orders_raw; --",
  "' OR '1'='1",
  '" OR 1=1 --',
  '1); DELETE FROM orders_stream; --',
  "'||(SELECT COUNT(*) FROM orders_raw)||'",
  "'; DROP TABLE stream_ledger; --",
  '@sha',
  '$1',
  "\\'; --",
] as const;

const TEN_KB = 10 * 1024;

/**
 * The classes the issue names (SQL, NUL, 10 kB, U+202E, emoji, lone surrogates) and a few more
 * that have broken parsers and terminals elsewhere (newlines, ANSI escapes, BOM, zero-width).
 */
export const HOSTILE: readonly string[] = [
  ...SQL_FRAGMENTS,
  '\u0000', 'a\u0000b', '2011-12-01\u0000',
  'x'.repeat(TEN_KB), '9'.repeat(TEN_KB), '🎁'.repeat(TEN_KB / 4),
  '\u202Eabc', 'United\u202EKingdom', 'مصر\u202E',
  '🎁', '👨‍👩‍👧', '🇬🇧', 'France🎁',
  '\uD800', '\uDFFF', 'a\uDC00b', '\uDC00\uD800', 'Fr\uD83Dnce',
  '\n', 'a\r\nb', '\u001b[31mred\u001b[0m', '\t', '\uFEFFFrance', 'Fr\u200Bance', 'e\u0301',
  '%00', '%', '../../etc/passwd', '${jndi:ldap://x}', '<script>alert(1)</script>', '',
];

/** A hostile string alone, glued to a plausible value, or random code points (lone surrogates included). */
export function hostileString(plausible: readonly string[] = ['2011-12-01', '536365', 'France', 'rf-a']): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...HOSTILE), weight: 4 },
    { arbitrary: fc.tuple(fc.constantFrom(...plausible), fc.constantFrom(...HOSTILE)).map(([a, b]) => a + b), weight: 2 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 30 }), weight: 1 },
    { arbitrary: fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 }), weight: 1 },
  );
}

/** Any JSON-ish value, nested objects and arrays included. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e21, -0, '', '6', 'NaN', [], {}),
  fc.double(),
  fc.integer({ min: -2_000_000, max: 2_000_000 }),
  hostileString(),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A JSON object written entry by entry: keys as given (even "__proto__"), repeated keys kept. */
export function jsonObjectText(entries: ReadonlyArray<readonly [string, unknown]>): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

/** Field values of an order line as the data set has them (stored-line rules, lib/input-rules.ts). */
export const validLine: fc.Arbitrary<ValidLineFields> = fc.record({
  InvoiceNo: fc.tuple(fc.boolean(), fc.integer({ min: 100_000, max: 999_999_999 })).map(([c, n]) => `${c ? 'C' : ''}${n}`),
  StockCode: fc.constantFrom('85123A', 'BANK CHARGES', 'gift_0001_40', 'POST', '22423', 'M'),
  Description: fc.oneof(fc.constant(null), fc.constantFrom('WHITE HANGING HEART T-LIGHT HOLDER', 'Adjust bad debt', ''), fc.string({ unit: 'grapheme', maxLength: 60 })),
  Quantity: fc.integer({ min: -MAX_ABS_QUANTITY, max: MAX_ABS_QUANTITY }).filter((q) => q !== 0),
  InvoiceDate: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:00Z'), noInvalidDate: true }),
  UnitPrice: fc.integer({ min: -10_000_000, max: 10_000_000 }).map((cents) => cents / 100),
  CustomerID: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: MAX_CUSTOMER_ID })),
  Country: fc.constantFrom('United Kingdom', 'France', 'EIRE', "Côte d'Ivoire", 'مصر', 'European Community', 'Unspecified'),
});
/** An order line's fields before they are written as a message or a CSV line. */
export interface ValidLineFields {
  InvoiceNo: string;
  StockCode: string;
  Description: string | null;
  Quantity: number;
  InvoiceDate: Date;
  UnitPrice: number;
  CustomerID: number | null;
  Country: string;
}

/** The data set's `M/D/YYYY H:MM`. */
export function csvDate(d: Date): string {
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${d.getUTCHours()}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/**
 * fc.assert parameters of every fuzz property: the fixed seed, a bound on the time spent (shrinking
 * a run of 200 deliveries is slow; the failure found so far is then reported), and a report short
 * enough to read: seed and path to replay it, the first 1,500 characters of the counterexample.
 */
export function fuzzParams<T>(seed: number, numRuns: number): fc.Parameters<T> {
  return {
    seed, numRuns, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true,
    reporter: (run) => {
      if (!run.failed) return;
      const cause = run.errorInstance instanceof Error ? run.errorInstance.message : String(run.errorInstance);
      throw new Error(`property failed after ${run.numRuns} runs, ${run.numShrinks} shrinks; replay with { seed: ${run.seed}, path: "${run.counterexamplePath ?? ''}" }\n`
        + `counterexample: ${fc.stringify(run.counterexample).slice(0, 1_500)}\ncaused by: ${cause.slice(0, 1_500)}`);
    },
  };
}

/**
 * A value read back from DuckDB loses a leading U+FEFF (the @duckdb/node-api binding decodes
 * strings as if the BOM were an encoding mark; it is stored: length() counts it). Read-back
 * comparisons allow exactly that and nothing else; see docs/reliability.md.
 */
export const asReadBack = (s: string): string => s.replace(/^\uFEFF/, '');

/** A line as a publisher may write it: `form`'s bits pick ISO or CSV date, price as text, customer as text. */
export function messageBody(l: ValidLineFields, form: number, eventId: string | undefined): Record<string, unknown> {
  const iso = l.InvoiceDate.toISOString().slice(0, 19);
  return {
    ...(eventId === undefined ? {} : { event_id: eventId }),
    InvoiceNo: l.InvoiceNo,
    StockCode: l.StockCode,
    Description: l.Description,
    Quantity: l.Quantity,
    InvoiceDate: form & 1 ? iso : csvDate(l.InvoiceDate),
    UnitPrice: form & 2 ? String(l.UnitPrice) : l.UnitPrice,
    CustomerID: form & 4 && l.CustomerID !== null ? String(l.CustomerID) : l.CustomerID,
    Country: l.Country,
  };
}

export interface Delivery extends InboundMessage {
  acked: number;
  nacked: number;
}

export function delivery(id: string, data: Buffer, attributes: Record<string, string> = {}): Delivery {
  const m: Delivery = {
    id, data, attributes: { schema_version: '1', source: 'fuzz', ...attributes }, publishTime: new Date(), acked: 0, nacked: 0,
    ack: () => void (m.acked += 1),
    nack: () => void (m.nacked += 1),
  };
  return m;
}

