/**
 * How every process reaches the Temporal frontend: plain gRPC on loopback locally, TLS (optionally
 * mutual) and/or an API key in production (Temporal Cloud style: an API key implies TLS). One
 * function so the worker, the API, the CLI and the monitor connect the same way.
 */
import type { TLSConfig } from '@temporalio/client';
import { ExpectedError } from '../errors';
import { readSecretFile } from '../security/secret-files';

export interface TemporalSecurity {
  /** TEMPORAL_TLS; on by itself when a certificate, a CA or an API key is configured. */
  tls: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  apiKey?: string;
  apiKeyFile?: string;
}

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

export function temporalConnectionOptions(address: string, security: TemporalSecurity): TemporalConnectionOptions {
  const apiKey = security.apiKey ?? (security.apiKeyFile ? readSecretFile('TEMPORAL_API_KEY_FILE', security.apiKeyFile).toString('utf8').trim() : undefined);
  if ((security.certFile === undefined) !== (security.keyFile === undefined)) {
    throw new TemporalTlsConfigError('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together (mutual TLS needs the certificate and its key)');
  }
  const wantsTls = security.tls || apiKey !== undefined || security.caFile !== undefined || security.certFile !== undefined;
  if (!wantsTls) return { address };
  const tls: TLSConfig = {};
  if (security.serverName) tls.serverNameOverride = security.serverName;
  if (security.caFile) tls.serverRootCACertificate = readSecretFile('TEMPORAL_TLS_CA_FILE', security.caFile);
  if (security.certFile && security.keyFile) {
    tls.clientCertPair = { crt: readSecretFile('TEMPORAL_TLS_CERT_FILE', security.certFile), key: readSecretFile('TEMPORAL_TLS_KEY_FILE', security.keyFile) };
  }
  return { address, tls, ...(apiKey ? { apiKey } : {}) };
}

/** For messages: how this process talks to Temporal, never the secrets themselves. */
export function describeTemporalSecurity(options: TemporalConnectionOptions): string {
  if (!options.tls) return 'plaintext';
  return [options.tls.clientCertPair ? 'mutual TLS' : 'TLS', options.apiKey ? 'API key' : ''].filter(Boolean).join(' + ');
}

export class TemporalTlsConfigError extends ExpectedError {
  override readonly name = 'ConfigError';
}
