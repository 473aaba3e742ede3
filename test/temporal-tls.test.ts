/**
 * Temporal over TLS with an API key (Temporal Cloud style), against the real dev server behind a
 * TLS-terminating gRPC proxy written here with node:http2: the proxy holds a self-signed
 * certificate (openssl), answers UNAUTHENTICATED unless `authorization: Bearer <key>` is sent, and
 * forwards everything else to the root hook's plaintext server. The CLI's client (grpc-js) and the
 * worker's NativeConnection (the Rust core) both connect through it with the options every process
 * uses (lib/temporal/connection-options.ts); a wrong key, no CA and plaintext are refused.
 *
 * Mocked: nothing but the proxy, since a TLS Temporal Cloud endpoint cannot be reached from here.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { connectClient } from '../clients/connection';
import { loadConfig, type Config } from '../lib/config';
import { temporalConnectionOptions, type TemporalSecurity } from '../lib/temporal/connection-options';
import { services } from './hooks';
import { tempDir } from './support/fixtures';

const API_KEY = 'temporal-test-api-key-0123456789';

/** A CA and a server certificate it signed (rustls refuses a self-signed certificate used as the server's). */
function certificates(dir: string): { ca: string; key: string; cert: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', '/CN=retailflow test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=temporal.test');
  fs.writeFileSync(file('server.ext'), 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:temporal.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt'), '-days', '1', '-extfile', file('server.ext'));
  return { ca: file('ca.crt'), key: file('server.key'), cert: file('server.crt') };
}

/** TLS in front, plaintext h2c behind; gRPC status 16 for a missing or wrong Bearer key. */
function startProxy(upstream: string, tls: { key: string; cert: string }): Promise<{ port: number; close: () => Promise<void>; seenKeys: string[] }> {
  const backend = http2.connect(`http://${upstream}`);
  const seenKeys: string[] = [];
  const server = http2.createSecureServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert), allowHTTP1: false });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const auth = String(headers.authorization ?? '');
    seenKeys.push(auth);
    if (auth !== `Bearer ${API_KEY}`) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'bad api key' }, { endStream: true });
      return;
    }
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (!['authorization', ':authority', ':scheme'].includes(name)) forwarded[name] = value;
    const upstreamStream = backend.request(forwarded);
    upstreamStream.on('response', (h) => stream.respond(stripPseudo(h, [':status']), { waitForTrailers: true }));
    let trailers: http2.OutgoingHttpHeaders = {};
    upstreamStream.on('trailers', (t) => (trailers = stripPseudo(t, [])));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(upstreamStream);
    upstreamStream.pipe(stream);
    stream.on('error', () => upstreamStream.destroy());
    upstreamStream.on('error', () => stream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        seenKeys,
        close: () => new Promise<void>((done) => {
          backend.destroy();
          for (const session of sessions) session.destroy();
          server.close(() => done());
        }),
      }),
    );
  });
}

function stripPseudo(headers: http2.IncomingHttpHeaders, keep: string[]): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':') || keep.includes(name)) out[name] = value;
  return out;
}

describe('@integration Temporal over TLS with an API key (through a TLS proxy to the real server)', function () {
  this.timeout(60_000);
  const dir = tempDir('retailflow-tls-');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let cert: { ca: string; key: string; cert: string };
  let address: string;

  before(async () => {
    cert = certificates(dir);
    proxy = await startProxy(services().temporal.address, cert);
    address = `127.0.0.1:${proxy.port}`;
  });
  after(async () => proxy?.close());

  const security = (over: Partial<TemporalSecurity> = {}): TemporalSecurity => ({ tls: false, caFile: cert.ca, serverName: 'temporal.test', apiKey: API_KEY, ...over });
  const configWith = (s: TemporalSecurity): Config => {
    const base = loadConfig({});
    return { ...base, temporal: { ...base.temporal, address, security: s } };
  };

  it('the CLI\'s client connects with TLS (our CA, the server name) and the key, and reaches the server behind', async () => {
    const { client, close } = await connectClient(configWith(security()));
    try {
      const info = await client.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion, JSON.stringify(info));
      const { namespaceInfo } = await client.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(namespaceInfo?.name, 'default');
    } finally {
      await close();
    }
    assert.ok(proxy.seenKeys.includes(`Bearer ${API_KEY}`));
  });

  it('the worker\'s NativeConnection (Rust core) connects the same way, with the key read from TEMPORAL_API_KEY_FILE', async () => {
    const keyFile = path.join(dir, 'temporal-api-key');
    fs.writeFileSync(keyFile, `${API_KEY}\n`);
    const connection = await NativeConnection.connect(temporalConnectionOptions(address, security({ apiKey: undefined, apiKeyFile: keyFile })));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      assert.ok(info.serverVersion);
    } finally {
      await connection.close();
    }
  });

  it('is refused with a wrong key, without our CA, and in plaintext; the CLI\'s error says how it connected', async () => {
    // The handshake succeeds and the proxy sees the key, but the server side says no.
    await assert.rejects(connectClient(configWith(security({ apiKey: 'wrong-key-0123456789abcdef' }))), /Temporal not reachable at 127\.0\.0\.1:\d+ over TLS \+ API key/);
    assert.ok(proxy.seenKeys.includes('Bearer wrong-key-0123456789abcdef'), 'the wrong key arrived over TLS and was refused');
    const seen = proxy.seenKeys.length;
    await assert.rejects(connectClient(configWith(security({ caFile: undefined }))), /Temporal not reachable at 127\.0\.0\.1:\d+ over TLS \+ API key/);
    await assert.rejects(connectClient(configWith({ tls: false })), /Temporal not reachable at 127\.0\.0\.1:\d+ over plaintext/);
    assert.equal(proxy.seenKeys.length, seen, 'without our CA or TLS no request got through the handshake');
  });

  it('options: plaintext by default; TLS implied by a key or a CA; a certificate without its key and a file in the repository refused', () => {
    assert.deepEqual(temporalConnectionOptions('h:7233', { tls: false }), { address: 'h:7233' });
    assert.deepEqual(temporalConnectionOptions('h:7233', { tls: false, apiKey: 'k' }), { address: 'h:7233', tls: {}, apiKey: 'k' });
    assert.deepEqual(temporalConnectionOptions('h:7233', { tls: true, serverName: 'x' }), { address: 'h:7233', tls: { serverNameOverride: 'x' } });
    assert.throws(() => temporalConnectionOptions('h:7233', { tls: true, certFile: cert.cert }), /TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together/);
    assert.throws(() => temporalConnectionOptions('h:7233', { tls: true, caFile: path.resolve(__dirname, '..', 'package.json') }), /TEMPORAL_TLS_CA_FILE .* is inside the repository/);
    assert.throws(() => temporalConnectionOptions('h:7233', { tls: true, caFile: path.join(dir, 'missing.crt') }), /cannot read TEMPORAL_TLS_CA_FILE .*: ENOENT/);
    assert.deepEqual(loadConfig({ TEMPORAL_API_KEY_FILE: '/run/secrets/temporal-api-key', TEMPORAL_TLS: 'true' }).temporal.security,
      { tls: true, caFile: undefined, certFile: undefined, keyFile: undefined, serverName: undefined, apiKey: undefined, apiKeyFile: '/run/secrets/temporal-api-key' });
  });
});
