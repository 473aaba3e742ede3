/**
 * Fails the test run if any code in the test process opens a TCP connection off this machine
 * (a Google client probing the metadata server or reaching googleapis.com, say). The connection
 * is refused before it is attempted, and every attempt is recorded so the root hook can fail.
 */
import * as net from 'node:net';

const attempts: string[] = [];
let installed = false;

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

function targetOf(args: unknown[]): { host: string; port: unknown } | undefined {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (first && typeof first === 'object') {
    const o = first as { host?: string; port?: unknown; path?: string };
    if (o.path) return undefined; // Unix socket: local by definition
    return { host: o.host ?? 'localhost', port: o.port };
  }
  if (typeof first === 'number' || typeof first === 'string') {
    if (typeof first === 'string' && Number.isNaN(Number(first))) return undefined; // a Unix socket path
    return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
  }
  return undefined;
}

export function installNetworkGuard(): void {
  if (installed) return;
  installed = true;
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const target = targetOf(args);
    if (target && !isLoopback(target.host)) {
      const message = `network guard: blocked a connection to ${target.host}:${String(target.port)} (tests stay on loopback)`;
      attempts.push(message);
      process.nextTick(() => this.destroy(new Error(message)));
      return this;
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
}

export function blockedAttempts(): readonly string[] {
  return attempts;
}

export function clearBlockedAttempts(): void {
  attempts.length = 0;
}
