/**
 * The API's production protections (api/plugins/security.ts, docs/security.md) through the real
 * app: API keys in all three places and constant-time matching, /health optionally open, the
 * dashboard and /metrics behind the same key, rate limit with Retry-After, helmet's headers, CORS
 * only for configured origins, the cloud-mode defaults and the start-up refusals.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildApp, type App } from '../api/app';
import { loadConfig, PROJECT_ROOT, type ApiSecurity, type Config } from '../lib/config';
import { loadApiKeys, matchApiKey, resolveApiKeys, toApiKey } from '../lib/security/api-keys';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeTemporal } from './support/fakes';

const KEY = 'k-0123456789abcdef-first';
const OTHER_KEY = 'k-fedcba9876543210-second';
const OFF: ApiSecurity = { auth: false, keysInline: undefined, keysFile: undefined, healthOpen: true, rateLimitMax: 0, rateLimitWindowMs: 60_000, securityHeaders: false, corsOrigins: [] };

describe('API security', function () {
  this.timeout(30_000);
  const apps: App[] = [];
  let wh: DuckDBWarehouse;
  before(() => (wh = new DuckDBWarehouse({ path: ':memory:' })));
  after(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await wh.close();
  });

  async function appWith(security: Partial<ApiSecurity>): Promise<App> {
    const base = loadConfig({});
    const config: Config = { ...base, api: { ...base.api, security: { ...OFF, ...security } } };
    const app = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    apps.push(app);
    await app.ready();
    return app;
  }
  const basic = (password: string, user = 'anyone') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  describe('API key', () => {
    let app: App;
    before(async () => (app = await appWith({ auth: true, keysInline: `${KEY}, ${OTHER_KEY}` })));

    it('refuses every route without a key: 401, a message saying how to send one, and a Basic challenge for browsers', async () => {
      for (const url of ['/metrics', '/dashboard/', '/dashboard/api/kpis?days=7', '/docs/json', '/models/current', '/no-such-route']) {
        const res = await app.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 401, url);
        assert.match(res.json().message, /x-api-key header, Authorization: Bearer <key>, or the password of Basic auth/, url);
        assert.equal(res.headers['www-authenticate'], 'Basic realm="retailflow", charset="UTF-8"', url);
      }
      const predict = await app.inject({ method: 'POST', url: '/predict', payload: { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 } });
      assert.equal(predict.statusCode, 401, 'checked before the body is even validated');
    });

    it('accepts either key as x-api-key, as a Bearer token, or as the Basic password', async () => {
      const ways: Array<Record<string, string>> = [
        { 'x-api-key': KEY },
        { 'x-api-key': OTHER_KEY },
        { authorization: `Bearer ${KEY}` },
        { authorization: `bearer ${OTHER_KEY}` },
        { authorization: basic(KEY) },
        { authorization: basic(OTHER_KEY, '') },
      ];
      for (const headers of ways) {
        const res = await app.inject({ method: 'GET', url: '/metrics', headers });
        assert.equal(res.statusCode, 200, JSON.stringify(headers));
        assert.match(res.body, /# HELP/);
      }
    });

    it('refuses a wrong, truncated, extended or differently-cased key, and a key in the wrong scheme', async () => {
      const wrong: Array<Record<string, string>> = [
        { 'x-api-key': KEY.slice(0, -1) },
        { 'x-api-key': `${KEY}x` },
        { 'x-api-key': KEY.toUpperCase() },
        { 'x-api-key': '' },
        { authorization: `Token ${KEY}` },
        { authorization: basic('nope') },
        { authorization: 'Basic !!!not-base64' },
      ];
      for (const headers of wrong) assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers })).statusCode, 401, JSON.stringify(headers));
    });

    it('leaves /health open for probes by default, and closes it with API_AUTH_HEALTH_OPEN=false', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/health?x=1' })).statusCode, 200);
      const closed = await appWith({ auth: true, keysInline: KEY, healthOpen: false });
      assert.equal((await closed.inject({ method: 'GET', url: '/health' })).statusCode, 401);
      assert.equal((await closed.inject({ method: 'GET', url: '/health', headers: { 'x-api-key': KEY } })).statusCode, 200);
    });

    it('matches in constant time over every key: the result names the key, and a near miss is no match', () => {
      const keys = [toApiKey(KEY), toApiKey(OTHER_KEY)];
      assert.equal(matchApiKey(keys, OTHER_KEY)?.id, keys[1].id);
      assert.equal(matchApiKey(keys, `${OTHER_KEY} `), undefined);
      assert.equal(matchApiKey(keys, undefined), undefined);
      assert.match(keys[0].id, /^[0-9a-f]{8}$/);
      assert.ok(!KEY.includes(keys[0].id), 'the id is a hash prefix, not part of the key');
    });
  });

  describe('key sources', () => {
    it('reads keys from a file outside the repository (comments and blank lines skipped) and joins them with API_KEYS', () => {
      const file = path.join(tempDir(), 'api-keys');
      fs.writeFileSync(file, `# rotated 2026-12\n${OTHER_KEY}\n\n${KEY}\n`);
      const keys = loadApiKeys(KEY, file);
      assert.deepEqual(keys.map((k) => k.id), [toApiKey(KEY).id, toApiKey(OTHER_KEY).id]);
    });

    it('refuses a key file inside the repository, a missing file, a short key, and auth on with no key, each in one line', () => {
      assert.throws(() => loadApiKeys(undefined, path.join(PROJECT_ROOT, 'data', 'api-keys')), /API_KEYS_FILE .* is inside the repository; keep secrets outside it/);
      assert.throws(() => loadApiKeys(undefined, path.join(tempDir(), 'missing')), /cannot read API_KEYS_FILE .*: ENOENT/);
      assert.throws(() => loadApiKeys('short-key', undefined), /at least 16 characters .* openssl rand -hex 32/);
      assert.throws(() => resolveApiKeys({ auth: true }), /API_AUTH is on .* set API_KEYS or API_KEYS_FILE, or API_AUTH=false/);
      assert.deepEqual(resolveApiKeys({ auth: false }), []);
    });

    it('an app with auth on and no key does not start', async () => {
      const base = loadConfig({});
      const app = buildApp({ config: { ...base, api: { ...base.api, security: { ...OFF, auth: true } } }, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
      await assert.rejects(async () => app.ready(), /API_AUTH is on/);
      await app.close().catch(() => undefined);
    });
  });

  describe('defaults', () => {
    it('local mode: everything off, so npm start needs no key', () => {
      assert.deepEqual(loadConfig({}).api.security, OFF);
    });

    it('cloud mode: auth, security headers and a rate limit on; CORS still off', () => {
      const s = loadConfig({ RETAILFLOW_ENV: 'cloud', API_KEYS_FILE: '/run/secrets/api-keys' }).api.security;
      assert.deepEqual({ ...s, keysFile: s.keysFile }, { ...OFF, auth: true, keysFile: '/run/secrets/api-keys', rateLimitMax: 6_000, securityHeaders: true });
    });

    it('refuses Google credentials inside the repository (ADC from outside only)', () => {
      assert.throws(() => loadConfig({ RETAILFLOW_ENV: 'cloud', GOOGLE_APPLICATION_CREDENTIALS: path.join(PROJECT_ROOT, 'secrets', 'gcp-key.json') }), /GOOGLE_APPLICATION_CREDENTIALS .* is inside the repository/);
      assert.equal(loadConfig({ RETAILFLOW_ENV: 'cloud', GOOGLE_APPLICATION_CREDENTIALS: '/run/secrets/gcp-key.json' }).warehouse.backend, 'duckdb');
    });

    it('refuses a CORS wildcard or an origin with a path', () => {
      assert.throws(() => loadConfig({ API_CORS_ORIGINS: '*' }), /API_CORS_ORIGINS must list origins .* got "\*"/);
      assert.throws(() => loadConfig({ API_CORS_ORIGINS: 'https://a.example.com/app' }), /got "https:\/\/a.example.com\/app"/);
      assert.deepEqual(loadConfig({ API_CORS_ORIGINS: 'https://a.example.com, http://127.0.0.1:8080' }).api.security.corsOrigins, ['https://a.example.com', 'http://127.0.0.1:8080']);
    });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After once a client spends its budget; another key has its own; guesses share the address', async () => {
      const app = await appWith({ auth: true, keysInline: `${KEY},${OTHER_KEY}`, rateLimitMax: 3, rateLimitWindowMs: 60_000 });
      const get = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/metrics', headers });
      for (let i = 0; i < 3; i++) assert.equal((await get({ 'x-api-key': KEY })).statusCode, 200);
      const limited = await get({ 'x-api-key': KEY });
      assert.equal(limited.statusCode, 429);
      assert.match(limited.json().message, /rate limit: at most 3 requests per 1 minute for one client; retry after \d+ s/);
      assert.ok(Number(limited.headers['retry-after']) > 0, JSON.stringify(limited.headers));
      assert.equal((await get({ 'x-api-key': OTHER_KEY })).statusCode, 200, 'another key has its own budget');
      // Wrong keys are counted against the address, before the key check: guessing is limited too.
      const guesses = [];
      for (let i = 0; i < 4; i++) guesses.push((await get({ 'x-api-key': `guess-${i}-0123456789abcdef` })).statusCode);
      assert.deepEqual(guesses, [401, 401, 401, 429]);
      assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'an open /health is not limited');
    });
  });

  describe('headers and CORS', () => {
    it('security headers: helmet\'s set, with a CSP that keeps the dashboard on plain HTTP working', async () => {
      const app = await appWith({ securityHeaders: true });
      const res = await app.inject({ method: 'GET', url: '/dashboard/' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/);
      const plain = await (await appWith({})).inject({ method: 'GET', url: '/dashboard/' });
      assert.equal(plain.headers['content-security-policy'], undefined, 'off by default in local mode');
    });

    it('CORS: no headers unless configured; then only the listed origins, and the preflight passes without a key', async () => {
      const none = await appWith({});
      const res = await none.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.com' } });
      assert.equal(res.headers['access-control-allow-origin'], undefined);

      const app = await appWith({ auth: true, keysInline: KEY, corsOrigins: ['https://shop.example.com'] });
      const allowed = await app.inject({ method: 'GET', url: '/metrics', headers: { origin: 'https://shop.example.com', 'x-api-key': KEY } });
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://shop.example.com');
      const other = await app.inject({ method: 'GET', url: '/metrics', headers: { origin: 'https://evil.example.com', 'x-api-key': KEY } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const preflight = await app.inject({
        method: 'OPTIONS', url: '/predict',
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
      });
      assert.equal(preflight.statusCode, 204, preflight.body);
      assert.match(String(preflight.headers['access-control-allow-headers']), /x-api-key/);
    });
  });
});
