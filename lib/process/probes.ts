/**
 * Readiness probes: each answers "is it ready yet?" once, quickly, without throwing.
 * The supervisor polls them until all pass or a deadline expires.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';

export type ReadinessProbe =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'http'; url: string; /** Default 200. */ status?: number }
  | { type: 'logLine'; pattern: RegExp };

/** Where a probe may look: the child's log, from the byte offset where this run started writing. */
export interface ProbeContext {
  logPath: string;
  logOffset: number;
}

const ATTEMPT_TIMEOUT_MS = 2_000;

export function describeProbe(probe: ReadinessProbe): string {
  switch (probe.type) {
    case 'tcp':
      return `TCP port ${probe.host}:${probe.port} open`;
    case 'http':
      return `HTTP ${probe.status ?? 200} from ${probe.url}`;
    case 'logLine':
      return `log line matching ${String(probe.pattern)}`;
  }
}

export function probeOnce(probe: ReadinessProbe, context: ProbeContext): Promise<boolean> {
  switch (probe.type) {
    case 'tcp':
      return canConnect(probe.host, probe.port, ATTEMPT_TIMEOUT_MS);
    case 'http':
      return httpStatus(probe.url, ATTEMPT_TIMEOUT_MS).then((status) => status === (probe.status ?? 200));
    case 'logLine':
      return Promise.resolve(probe.pattern.test(readFrom(context.logPath, context.logOffset)));
  }
}

export function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Status code of a GET, or 0 when there is no answer. `agent: false` so no keep-alive socket lingers. */
export function httpStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(0));
  });
}

function readFrom(filePath: string, offset: number): string {
  try {
    const fd = fs.openSync(filePath, 'r');
    try {
      const length = Math.max(0, fs.fstatSync(fd).size - offset);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** The last `lines` lines a child wrote since `offset` (reads at most the last 64 KiB). */
export function logTail(filePath: string, offset: number, lines: number): string[] {
  const text = readFrom(filePath, offset).slice(-64 * 1024);
  return text.split(/\r?\n/).filter((line) => line.trim() !== '').slice(-lines);
}
