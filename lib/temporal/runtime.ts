/**
 * The one place that calls `Runtime.install`. It must run before any NativeConnection, Worker or
 * TestWorkflowEnvironment exists, or the SDK throws "Runtime singleton has already been instantiated".
 */
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { inspect } from 'node:util';

export interface RuntimeSetup {
  /** e.g. "INFO"; any case; unknown values fall back to INFO. */
  logLevel: string;
  /** "host:port" for the Prometheus /metrics endpoint; no metrics when absent. */
  prometheusBindAddress?: string;
}

const LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export function toLogLevel(value: string): LogLevel {
  const upper = value.toUpperCase();
  return (LEVELS as readonly string[]).includes(upper) ? (upper as LogLevel) : 'INFO';
}

/** One line per entry, ISO time first, no colours: it usually ends up in a log file. */
export function readableLogLine({ level, message, meta, timestampNanos }: LogEntry): string {
  const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  const details = meta === undefined ? '' : ` ${inspect(meta, { breakLength: Infinity, depth: 4, colors: false })}`;
  return `${time} ${level.padEnd(5)} ${message}${details}\n`;
}

export function installRuntime({ logLevel, prometheusBindAddress }: RuntimeSetup): void {
  const level = toLogLevel(logLevel);
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => process.stderr.write(readableLogLine(entry))),
    telemetryOptions: {
      // Core (Rust) logs are forwarded to the same logger; third-party crates only on errors.
      logging: {
        forward: {},
        filter: makeTelemetryFilterString({ core: level === 'TRACE' ? 'DEBUG' : 'WARN', other: 'ERROR' }),
      },
      metrics: prometheusBindAddress ? { prometheus: { bindAddress: prometheusBindAddress } } : undefined,
    },
  });
}
