/**
 * CI's supply-chain step (scripts/supply-chain.ts): the secret scan finds a committed private key
 * or service-account key (and not a mention of one), the repository itself is clean, and the npm
 * audit report is judged: high/critical fail, an unreachable endpoint is named as such.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths';
import { judgeAudit } from '../lib/supply-chain/npm-audit';
import { findSecrets, scanRepository } from '../lib/supply-chain/secret-scan';
import { tempDir } from './support/fixtures';

// Built at run time, so this file holds no key-shaped text for the scan to find.
const LABEL = ['PRIVATE', 'KEY'].join(' ');
const HEADER = `-----BEGIN ${LABEL}-----`;
const FAKE_PEM = `${HEADER}\n${'A'.repeat(48)}\n-----END ${LABEL}-----\n`;
const FAKE_SA = JSON.stringify({ type: 'service_account', project_id: 'p', private_key: FAKE_PEM, client_email: 'x@p.iam.gserviceaccount.com' }, null, 2);

describe('supply chain: secret scan and npm audit', () => {
  it('finds a PEM private key and a service-account JSON, with file and line, and not a mere mention', () => {
    assert.deepEqual(findSecrets('a.txt', `hello\n${FAKE_PEM}`), [{ file: 'a.txt', line: 2, kind: 'private key' }]);
    const sa = findSecrets('key.json', FAKE_SA);
    assert.deepEqual(sa.map((f) => f.kind).sort(), ['private key', 'service-account key']);
    assert.deepEqual(findSecrets('doc.md', `a key starts with ${HEADER} and then base64`), []);
    assert.deepEqual(findSecrets('conf.json', '{"type": "service_account"}'), [], 'no key in it');
  });

  it('scans what git tracks: a committed key is found, an untracked one is not', () => {
    const repo = tempDir('retailflow-scan-');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    fs.mkdirSync(path.join(repo, 'secrets'));
    fs.writeFileSync(path.join(repo, 'secrets', 'gcp-key.json'), FAKE_SA);
    fs.writeFileSync(path.join(repo, 'README.md'), 'nothing here\n');
    fs.writeFileSync(path.join(repo, 'local.pem'), FAKE_PEM); // untracked
    git('add', 'README.md', 'secrets/gcp-key.json');
    const { files, findings } = scanRepository(repo);
    assert.equal(files, 2);
    assert.deepEqual([...new Set(findings.map((f) => f.file))], ['secrets/gcp-key.json']);
  });

  it('this repository has no committed private key or service-account key', () => {
    const { files, findings } = scanRepository(PROJECT_ROOT);
    assert.ok(files > 100, String(files));
    assert.deepEqual(findings, []);
  });

  it('judges npm audit: clean, high or critical findings, and the unreachable endpoint this machine has', () => {
    const clean = judgeAudit(JSON.stringify({ metadata: { vulnerabilities: { info: 0, low: 2, moderate: 1, high: 0, critical: 0 } }, vulnerabilities: {} }));
    assert.equal(clean.kind, 'clean');
    const bad = judgeAudit(JSON.stringify({ metadata: { vulnerabilities: { high: 1, critical: 1 } }, vulnerabilities: { fastify: { severity: 'high' }, ws: { severity: 'critical' }, x: { severity: 'low' } } }));
    assert.deepEqual(bad, { kind: 'findings', counts: { high: 1, critical: 1 }, packages: ['fastify (high)', 'ws (critical)'] });
    // What `npm audit --omit=dev --json` prints here: the mirror refuses the bulk advisory POST.
    const here = judgeAudit(JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '', detail: '' } }));
    assert.deepEqual(here, { kind: 'unreachable', reason: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' });
    assert.equal(judgeAudit('npm ERR! network').kind, 'unreachable');
  });
});
