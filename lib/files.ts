/**
 * One atomic file write for the whole project: reports, staged training data, model artifacts,
 * the model document, the workflow bundle and the stack's status file.
 *
 * The bytes go to a temp file in the target's own directory, are fsynced, then renamed over the
 * target: rename within one file system is atomic, so a reader sees the old file or the whole new
 * one, never half, and a crash leaves at most a stray temp file (never a truncated target).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError, storageProblem } from './errors';

export interface AtomicWriteOptions {
  /** File mode of a new file; an existing file keeps its own mode. Default 0o644. */
  mode?: number;
}

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** A full or read-only disk is the user's to fix, not a bug: one line naming the file, and "nothing was written" holds (the temp file is gone). */
function asStorageError(err: unknown, target: string): unknown {
  const problem = storageProblem(err);
  return problem ? new StorageError(`cannot write ${target}: ${problem}; nothing was written (free space or make the directory writable, then run it again)`, { cause: err }) : err;
}

function modeFor(target: string, options: AtomicWriteOptions): number {
  try {
    return fs.statSync(target).mode & 0o777;
  } catch {
    return options.mode ?? 0o644;
  }
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const target = path.resolve(file);
  const tmp = tempPathFor(target);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fs.openSync(tmp, 'wx', modeFor(target, options));
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw asStorageError(err, target);
  }
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const target = path.resolve(file);
  const tmp = tempPathFor(target);
  try {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    const fh = await fs.promises.open(tmp, 'wx', modeFor(target, options));
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw asStorageError(err, target);
  }
}
