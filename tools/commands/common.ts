/** Helpers every CLI command shares: the one-line error, argument parsers, the warehouse. */
import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../../lib/config';
import { addDays, assertIsoDate, zonedDateOf } from '../../lib/dates';
import { DependencyUnavailableError, ExpectedError } from '../../lib/errors';
import { canConnect, parseHostPort } from '../../lib/process/supervisor';
import { openWarehouse, Warehouse } from '../../lib/warehouse';

/** A user-fixable failure of a command: printed as `error: <message>`, exit code 1, no stack. */
export class CliError extends ExpectedError {
  override readonly name = 'CliError';
}

/** A calendar date, or `today` / `yesterday` in the shop's time zone (SHOP_TIMEZONE). */
export function isoDate(value: string): string {
  if (value === 'today' || value === 'yesterday') {
    const today = zonedDateOf(new Date(), loadConfig().shop.timeZone);
    return value === 'today' ? today : addDays(today, -1);
  }
  try {
    assertIsoDate(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return value;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

export function boundedInt(value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export const pad2 = (n: number): string => String(n).padStart(2, '0');

export async function withWarehouse<T>(config: Config, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await openWarehouse(config);
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/**
 * Fail in one line, before the Google client retries for a minute, when the Pub/Sub emulator is
 * not there. Against real Pub/Sub (no emulator configured) the client's own errors apply.
 */
export async function requirePubSub(config: Config): Promise<void> {
  const host = config.pubsub.emulatorHost;
  if (!host) return;
  const { host: h, port } = parseHostPort(host, 'PUBSUB_EMULATOR_HOST');
  if (!(await canConnect(h, port, 2_000))) {
    throw new DependencyUnavailableError(`Pub/Sub emulator not reachable at ${host}: is the platform running (npm start)? Or set PUBSUB_EMULATOR_HOST`);
  }
}
