/** Exact money arithmetic on decimal strings (the warehouse returns NUMERIC as exact text). */
import { canonicalDecimal, decimalToScaled, scaledToDecimal } from '../warehouse/values';

const SCALE = 9;

/** a - b, exactly. */
export function subtractDecimal(a: string, b: string): string {
  return scaledToDecimal(decimalToScaled(a, SCALE) - decimalToScaled(b, SCALE), SCALE);
}

/** numerator / count rounded half-up to `places` decimals; 0 when count is 0. */
export function divideToPlaces(numerator: string, count: number, places = 2): string {
  if (count === 0) return '0';
  const scaled = decimalToScaled(numerator, SCALE) * 10n ** BigInt(places);
  const divisor = BigInt(count) * 10n ** BigInt(SCALE);
  const negative = scaled < 0n;
  const abs = negative ? -scaled : scaled;
  let q = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) q += 1n;
  return scaledToDecimal(negative ? -q : q, places);
}

/** Round a decimal string half-up to `places` decimals (for display and CSV columns). */
export function roundDecimal(value: string, places = 2): string {
  return divideToPlaces(value, 1, places);
}

/** Fixed-places text for CSV and logs: "12.5" -> "12.50". */
export function formatMoney(value: string, places = 2): string {
  const rounded = canonicalDecimal(roundDecimal(value, places));
  const [whole, frac = ''] = rounded.split('.');
  return places > 0 ? `${whole}.${frac.padEnd(places, '0')}` : whole;
}

/** Display text with thousands separators: "200920.6" -> "£200,920.60" (pure: workflows use it for run details). */
export function formatPounds(value: string): string {
  const [whole, frac] = formatMoney(value).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = sign ? whole.slice(1) : whole;
  return `${sign}£${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}
