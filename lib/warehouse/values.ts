/** Value normalisation shared by the warehouse adapters (see the contract in types.ts). */

/** Trim a decimal string to its shortest exact form: "12.340" -> "12.34", "5.000" -> "5", "-0.0" -> "0". */
export function canonicalDecimal(text: string): string {
  let s = text.trim();
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  if (s === '-0' || s === '') return '0';
  return s;
}

/** Scaled integer (value / 10^scale) to an exact decimal string. */
export function scaledToDecimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale);
  return canonicalDecimal(`${negative ? '-' : ''}${whole}${scale > 0 ? `.${frac}` : ''}`);
}

/** Exact decimal string to a scaled integer; throws on malformed input or too many fractional digits. */
export function decimalToScaled(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal number: "${text}"`);
  const [, sign, whole, frac = ''] = m;
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale))) {
    throw new Error(`"${text}" has more than ${scale} decimal places`);
  }
  const scaled = BigInt(whole + frac.slice(0, scale).padEnd(scale, '0'));
  return sign === '-' ? -scaled : scaled;
}

// Day numbers <-> dates: the one date module, so an impossible date like 2011-02-30 is refused here too.
export { daysToIsoDate, isoDateToDays } from '../dates';

export function microsToIso(micros: bigint): string {
  return new Date(Number(micros / 1000n)).toISOString();
}

/** Safe integer conversion: warehouse INT64 values we use (counts, quantities) fit in 2^53. */
export function int64ToNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`INT64 ${v} does not fit a JavaScript number`);
  }
  return Number(v);
}
