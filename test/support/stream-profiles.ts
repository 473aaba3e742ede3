/**
 * Hand-made generator profiles: the generator's shape without loading the real data. Real stock
 * codes, prices and invoices; only the basket sizes (lines per invoice) vary between uses.
 */
import { buildProfile, type DataProfile } from '../../lib/stream/generator';

/** `baskets`: lines per invoice for 536365, 536366, C536367 (a cancellation), 536368. */
export function handMadeProfile(baskets: readonly [number, number, number, number], opts: { ornament?: boolean } = {}): DataProfile {
  const items = [
    { stock_code: '85123A', description: 'WHITE HANGING HEART T-LIGHT HOLDER', unit_price: '2.55', quantity: 6, n: 30, c: false },
    { stock_code: '22423', description: 'REGENCY CAKESTAND 3 TIER', unit_price: '12.75', quantity: 2, n: 10, c: false },
    { stock_code: '84879', description: 'ASSORTED COLOUR BIRD ORNAMENT', unit_price: '1.69', quantity: 160, n: 10, c: false },
    { stock_code: '22423', description: 'REGENCY CAKESTAND 3 TIER', unit_price: '12.75', quantity: -1, n: 2, c: true },
  ].filter((item) => opts.ornament !== false || item.stock_code !== '84879');
  const [a, b, c, d] = baskets;
  return buildProfile(items, [
    { invoice_no: '536365', ts: '2010-12-01T08:26:00.000Z', customer_id: 17850, country: 'United Kingdom', n: a, c: 0 },
    { invoice_no: '536366', ts: '2010-12-02T10:00:00.000Z', customer_id: 12583, country: 'France', n: b, c: 0 },
    { invoice_no: 'C536367', ts: '2010-12-03T14:00:00.000Z', customer_id: 17850, country: 'United Kingdom', n: c, c: 1 },
    { invoice_no: '536368', ts: '2010-12-06T15:00:00.000Z', customer_id: null, country: 'United Kingdom', n: d, c: 0 },
  ]);
}
