/** Small helpers for loopback ports: pick a free one, check one is free, parse "host:port". */
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
