/**
 * Secret files (API keys, TLS keys and certificates, a Temporal API key) are read from outside the
 * checkout only: one inside it is a `git add .` away from being committed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExpectedError } from '../errors';
import { PROJECT_ROOT } from '../paths';

export class SecretFileError extends ExpectedError {
  override readonly name = 'ConfigError';
}

export function isInsideRepository(file: string): boolean {
  const relative = path.relative(PROJECT_ROOT, path.resolve(file));
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** The file's bytes; a one-line error naming `variable` when it is in the repository or unreadable. */
export function readSecretFile(variable: string, file: string): Buffer {
  const resolved = path.resolve(file);
  if (isInsideRepository(resolved)) {
    throw new SecretFileError(`${variable} ${resolved} is inside the repository; keep secrets outside it (e.g. /run/secrets/)`);
  }
  try {
    return fs.readFileSync(resolved);
  } catch (err) {
    throw new SecretFileError(`cannot read ${variable} ${resolved}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
