/**
 * Calendar dates as the project uses them: `YYYY-MM-DD` strings of real days (2011-02-30 and
 * 2011-13-01 are refused), day arithmetic in UTC, and the shop's local day.
 *
 * Pure module (no Node imports): workflow code may import it.
 */
import { InvalidDateError } from './errors';

const MS_PER_DAY = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(date: string): boolean {
  // A real calendar day round-trips through Date; 2011-02-30 rolls over and 2011-13-01 is NaN.
  if (typeof date !== 'string' || !ISO_DATE.test(date)) return false;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(date);
}

export function assertIsoDate(date: string, what = 'date'): void {
  if (!isIsoDate(date)) throw new InvalidDateError(`${what} must be a calendar date YYYY-MM-DD, got "${date}"`);
}

/** Both ends are calendar dates and from <= to. */
export function assertDateRange(from: string, to: string): void {
  assertIsoDate(from, 'from');
  assertIsoDate(to, 'to');
  if (from > to) throw new InvalidDateError(`from (${from}) is after to (${to})`);
}

/** UTC midnight of the day, e.g. for a DATETIME search attribute. */
export function dateToUtcMidnight(date: string): Date {
  assertIsoDate(date);
  return new Date(`${date}T00:00:00Z`);
}

export function isoDateToDays(date: string): number {
  assertIsoDate(date);
  return Math.round(Date.parse(`${date}T00:00:00Z`) / MS_PER_DAY);
}

export function daysToIsoDate(days: number): string {
  return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return daysToIsoDate(isoDateToDays(date) + days);
}

/** The UTC calendar day of an instant. */
export function utcDateOf(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/**
 * The calendar day of an instant in an IANA time zone (the shop's day: SHOP_TIMEZONE). Intl is
 * deterministic for a given instant, so this is safe in workflow code too.
 */
export function zonedDateOf(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}
