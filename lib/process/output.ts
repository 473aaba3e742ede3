/**
 * Where a supervised child's output goes: a size-rotated log file (through rotating-file-stream) and
 * a bounded in-memory copy of what the current run printed, for readiness probes and error messages.
 *
 * The in-memory copy replaces reading the log "from this run's offset": once a log rotates, that
 * offset points into a file that was renamed. The supervisor sees every byte anyway (it pipes the
 * child's stdout and stderr), so it keeps the last `limitBytes` of them per run.
 */
import * as path from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';

export interface LogRotation {
  /** The current file is rotated once it reaches this size (one write is never split, so it may exceed it by one chunk, at most 64 KiB). */
  maxBytes: number;
  /** Files kept per log, the current one included (`name.log`, `name.log.1` … `name.log.<maxFiles-1>`); at least 2. */
  maxFiles: number;
}

/** 10 MiB x 5 files: at most ~50 MiB per process. */
export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** The largest chunk a pipe hands over at once; a file can exceed maxBytes by this much. */
export const MAX_CHUNK_BYTES = 64 * 1024;

export function validateLogRotation(rotation: LogRotation): LogRotation {
  if (!Number.isInteger(rotation.maxBytes) || rotation.maxBytes < 1024) {
    throw new Error(`log rotation: maxBytes must be an integer of at least 1024, got ${rotation.maxBytes}`);
  }
  if (!Number.isInteger(rotation.maxFiles) || rotation.maxFiles < 2) {
    throw new Error(`log rotation: maxFiles must be an integer of at least 2 (the current file and one rotated), got ${rotation.maxFiles}`);
  }
  return rotation;
}

/** Every file a rotated log may have, current first: `x.log`, `x.log.1`, … */
export function logFiles(logPath: string, rotation: LogRotation): string[] {
  return [logPath, ...Array.from({ length: rotation.maxFiles - 1 }, (_, i) => `${logPath}.${i + 1}`)];
}

/**
 * An append-only, size-rotated log file. Rotation is the classical logrotate scheme: `x.log` is
 * renamed to `x.log.1`, `x.log.1` to `x.log.2`, …, and the oldest is overwritten. A write error
 * (disk full, directory removed) is reported once; later output is dropped rather than blocking
 * the child, whose pipe must keep draining.
 */
export class LogSink {
  private readonly stream: RotatingFileStream;
  private broken = false;
  private closing: Promise<void> | undefined;
  /** Writes not yet on disk, and who waits for them to be. */
  private pending = 0;
  private readonly flushWaiters: Array<() => void> = [];

  constructor(
    readonly logPath: string,
    rotation: LogRotation,
    onError: (err: Error) => void,
  ) {
    const { maxBytes, maxFiles } = validateLogRotation(rotation);
    this.stream = createStream(path.basename(logPath), { path: path.dirname(logPath), size: `${maxBytes}B`, rotate: maxFiles - 1 });
    this.stream.on('error', (err: Error) => {
      if (this.broken) return;
      this.broken = true;
      this.stream.emit('drain'); // release a writer waiting for drain
      this.flushWaiters.splice(0).forEach((resolve) => resolve());
      onError(err);
    });
  }

  /** False when the caller should wait for `onDrain` before writing more (backpressure). */
  write(chunk: Buffer | string): boolean {
    if (this.broken || this.closing) return true;
    this.pending++;
    return this.stream.write(chunk, () => {
      this.pending--;
      if (this.pending === 0) this.flushWaiters.splice(0).forEach((resolve) => resolve());
    });
  }

  /** Resolves once everything written so far is in the file (bounded by `timeoutMs`). */
  flushed(timeoutMs = 2_000): Promise<void> {
    if (this.pending === 0 || this.broken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.flushWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  onDrain(listener: () => void): void {
    if (this.broken) setImmediate(listener);
    else this.stream.once('drain', listener);
  }

  /** Flush and close the file (bounded: a broken stream must not hang a stop). */
  close(timeoutMs = 5_000): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.broken || this.stream.destroyed) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.stream.once('error', done);
      this.stream.end(done);
    });
    return this.closing;
  }
}

/** The last `limitBytes` bytes a run printed (stdout and stderr interleaved as they arrived). */
export class OutputBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Everything this run printed, including what was dropped from the front. */
  totalBytes = 0;

  constructor(private readonly limitBytes = 256 * 1024) {}

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.totalBytes += chunk.length;
    while (this.size > this.limitBytes && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
    if (this.size > this.limitBytes) {
      const only = this.chunks[0];
      this.chunks[0] = only.subarray(only.length - this.limitBytes);
      this.size = this.chunks[0].length;
    }
  }

  text(): string {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]?.toString('utf8') ?? '';
  }

  /** The last `lines` non-blank lines (from at most the last 64 KiB). */
  tail(lines: number): string[] {
    return this.text()
      .slice(-64 * 1024)
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '')
      .slice(-lines);
  }
}
