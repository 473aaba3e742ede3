/**
 * Readiness probes: each answers "is it ready yet?" once, quickly, without throwing.
 * The supervisor polls them until all pass or a deadline expires.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export type ReadinessProbe =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'http'; url: string; /** Default 200. */ status?: number }
  | { type: 'logLine'; pattern: RegExp };

/** Where a probe may look: what this run of the child printed (not earlier runs in its log file). */
export interface ProbeContext {
  output: () => string;
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
      return Promise.resolve(probe.pattern.test(context.output()));
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
