/**
 * Small helpers for loopback ports: pick free ones, check one is free, parse "host:port", and retry
 * a start on new ports when the picked ones were taken in between (a port that was free when we
 * looked can be bound by anyone before our child binds it).
 */
import * as net from 'node:net';

/** A port the OS reports free on `host` right now (listen on port 0, read it back, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port the OS chose'))));
    });
  });
}

/** `count` distinct free ports: all are held open until the last is picked, so none repeats. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      server.unref();
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port: 0, exclusive: true }, () => {
            const address = server.address();
            resolve(typeof address === 'object' && address !== null ? address.port : 0);
          });
        }),
      );
    }
    if (ports.some((port) => port === 0)) throw new Error('could not read the port the OS chose');
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

/** What a child prints (Go: "bind: address already in use"; Node: "listen EADDRINUSE") when its port is taken. */
export const ADDRESS_IN_USE = /EADDRINUSE|address already in use|ports are already in use/i;

/** True when `err` (its message includes the child's log tail for a ChildStartError) says a port was taken. */
export function isAddressInUse(err: unknown): boolean {
  return ADDRESS_IN_USE.test(err instanceof Error ? err.message : String(err));
}

export interface PortRetryOptions {
  /** Attempts in all, each with new ports; default 5. */
  attempts?: number;
  host?: string;
  /** Told about each clash before the next attempt. */
  onRetry?: (err: unknown, attempt: number) => void;
  /** Which failures mean "pick other ports"; default isAddressInUse. */
  isClash?: (err: unknown) => boolean;
}

/**
 * Run `start` with `count` fresh free ports; when it fails because one was taken in between
 * (see ADDRESS_IN_USE), run it again with new ports, a bounded number of times. Any other failure,
 * or the last clash, is thrown. `start` must clean up after itself when it fails.
 */
export async function withFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, options: PortRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const isClash = options.isClash ?? isAddressInUse;
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count, options.host);
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= attempts || !isClash(err)) throw err;
      options.onRetry?.(err, attempt);
    }
  }
}

/** True when nothing listens on host:port (we could bind it ourselves). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface HostPort {
  host: string;
  port: number;
}

/** Parse "host:port" (IPv6 as "[::1]:port"); throws a message naming the setting when malformed. */
export function parseHostPort(value: string, settingName: string): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || match[1] === '' || port < 1 || port > 65535) {
    throw new Error(`${settingName} must look like HOST:PORT (e.g. 127.0.0.1:7233), got "${value}"`);
  }
  return { host: match[1], port };
}
