/**
 * A secret scan of the files git tracks, for CI: a private key (PEM block with a body) or a Google
 * service-account key (JSON with "type": "service_account" and a "private_key") fails the run.
 *
 * Two exact rules instead of an entropy scanner (detect-secrets, gitleaks): this tree is full of
 * hashes, seeds and fixture ids, which entropy rules flag and a baseline would then have to
 * whitelist by hand; these two shapes are what a leaked credential of this platform looks like.
 * The scan prints where, never what.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SecretFinding {
  file: string;
  line: number;
  kind: 'private key' | 'service-account key';
}

/**
 * The body line after the header is required, so text that only names the header is not a key;
 * the line break may be escaped (`\n` in JSON, .env files).
 */
// Spelled in pieces so this file holds no text shaped like a key header (secret scanners flag it).
const DASHES = '-'.repeat(5);
const HEADER_WORD = ['BEG', 'IN'].join('');
const PEM_PRIVATE_KEY = new RegExp(`${DASHES}${HEADER_WORD} ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVA${'TE'} KEY${DASHES}(\\r?\\n|\\\\n)[A-Za-z0-9+/=]{20,}`, 'g');
const SERVICE_ACCOUNT = /"type"\s*:\s*"service_account"/;
const JSON_PRIVATE_KEY = new RegExp(`"private_key"\\s*:\\s*"${DASHES}${HEADER_WORD}`);
const MAX_BYTES = 5 * 1024 * 1024;

export function findSecrets(file: string, text: string): SecretFinding[] {
  const found: SecretFinding[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(PEM_PRIVATE_KEY)) found.push({ file, line: lineOf(m.index ?? 0), kind: 'private key' });
  const sa = SERVICE_ACCOUNT.exec(text);
  if (sa && JSON_PRIVATE_KEY.test(text)) found.push({ file, line: lineOf(sa.index), kind: 'service-account key' });
  return found;
}

/** Every tracked file of the repository at `root` (binary and very large files skipped). */
export function scanRepository(root: string): { files: number; findings: SecretFinding[] } {
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
  const findings: SecretFinding[] = [];
  let files = 0;
  for (const file of listed) {
    const full = path.join(root, file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      continue; // deleted in the work tree
    }
    if (!stat.isFile() || stat.size > MAX_BYTES) continue;
    const bytes = fs.readFileSync(full);
    if (bytes.includes(0)) continue; // binary
    files += 1;
    findings.push(...findSecrets(file, bytes.toString('utf8')));
  }
  return { files, findings };
}
