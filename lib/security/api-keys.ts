/**
 * API keys for the REST API: where they come from, and a constant-time match of what a client
 * sent. Kept out of api/ so the CLI and tests can use the same rules.
 *
 * A key is compared as the SHA-256 digest of both sides with `timingSafeEqual`: digests have one
 * length, so neither the comparison nor an early length check tells a caller how much of a guess
 * was right, and every configured key is tried so the time does not say which one matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ExpectedError } from '../errors';
import { readSecretFile } from './secret-files';

/** Shorter keys are refused at start-up: they can be guessed within a rate limit's patience. */
export const MIN_KEY_LENGTH = 16;

export class ApiKeyConfigError extends ExpectedError {
  override readonly name = 'ConfigError';
}

export interface ApiKey {
  /** Safe to log: the first 8 hex digits of the key's SHA-256. */
  id: string;
  digest: Buffer;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function toApiKey(secret: string): ApiKey {
  const digest = sha256(secret);
  return { id: digest.toString('hex').slice(0, 8), digest };
}

/**
 * The keys the API accepts: API_KEYS (comma-separated) and API_KEYS_FILE (one per line, `#`
 * comments). With auth on, none at all is refused: the API would otherwise serve no one, or, worse,
 * be switched to open by whoever "fixes" that.
 */
export function resolveApiKeys(security: { auth: boolean; keysInline?: string; keysFile?: string }): ApiKey[] {
  const keys = loadApiKeys(security.keysInline, security.keysFile);
  if (security.auth && keys.length === 0) {
    throw new ApiKeyConfigError('API_AUTH is on (the default with RETAILFLOW_ENV=cloud) but no key is set: set API_KEYS or API_KEYS_FILE, or API_AUTH=false to serve without one');
  }
  return keys;
}

/** Keys from API_KEYS (comma-separated) and API_KEYS_FILE (one per line, `#` comments). */
export function loadApiKeys(inline: string | undefined, file: string | undefined): ApiKey[] {
  const secrets = [...splitKeys(inline ?? '', ','), ...(file ? readKeyFile(file) : [])];
  const short = secrets.find((s) => s.length < MIN_KEY_LENGTH);
  if (short !== undefined) {
    throw new ApiKeyConfigError(`every API key must be at least ${MIN_KEY_LENGTH} characters (one in API_KEYS/API_KEYS_FILE has ${short.length}); make one with: openssl rand -hex 32`);
  }
  return [...new Set(secrets)].map(toApiKey);
}

function splitKeys(text: string, separator: string | RegExp): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
}

function readKeyFile(file: string): string[] {
  return splitKeys(readSecretFile('API_KEYS_FILE', file).toString('utf8'), /\r?\n/);
}

/** The key `presented` equals, or undefined. Tries every key, whatever matched first. */
export function matchApiKey(keys: readonly ApiKey[], presented: string | undefined): ApiKey | undefined {
  if (presented === undefined || presented === '') return undefined;
  const digest = sha256(presented);
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(key.digest, digest)) found ??= key;
  }
  return found;
}
