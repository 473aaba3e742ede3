/** The network rule: everything stays on loopback, and Google clients never probe the metadata server. */
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { blockedAttempts, clearBlockedAttempts, isLoopback } from './support/network-guard';

describe('network rule', () => {
  afterEach(() => clearBlockedAttempts());

  it('classifies loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.0.0.53', 'localhost', '::1', '[::1]']) assert.ok(isLoopback(h), h);
    for (const h of ['169.254.169.254', 'metadata.google.internal', 'bigquery.googleapis.com', '10.0.0.1', '0.0.0.0']) {
      assert.ok(!isLoopback(h), h);
    }
  });

  it('the guard refuses a connection to the GCE metadata server and records it', async () => {
    const err = await new Promise<Error>((resolve) => {
      const socket = net.connect({ host: '169.254.169.254', port: 80 });
      socket.on('error', resolve);
      socket.on('connect', () => resolve(new Error('connected?!')));
    });
    assert.match(err.message, /network guard: blocked a connection to 169\.254\.169\.254:80/);
    assert.equal(blockedAttempts().length, 1);
  });

  it('google-auth-library does not look for the metadata server with METADATA_SERVER_DETECTION=none', async () => {
    process.env.METADATA_SERVER_DETECTION = 'none';
    const { isAvailable, resetIsAvailableCache } = await import('gcp-metadata');
    resetIsAvailableCache();
    assert.equal(await isAvailable(), false);
    assert.deepEqual(blockedAttempts(), []);
  });
});
