/**
 * A small tmpfs of a test's own, to make a disk full (its size) or read-only (remount ro) for
 * real: the kernel answers ENOSPC or EROFS, as a full or read-only data disk would. File modes
 * cannot do it here, because the tests run as root and root ignores them.
 *
 * Needs root (CAP_SYS_ADMIN), as the tests have on this machine and in CI.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Change the size limit (KiB); the files stay. */
  resize(kib: number): void;
  readOnly(): void;
  writable(): void;
  /** Take all the space left, as a full disk would; `free()` gives it back. */
  fill(): void;
  free(): void;
  unmount(): void;
}

const mount = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' });

/** Why this machine cannot mount one, or undefined when it can. */
export function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  return undefined;
}

export function mountTmpfs(prefix: string, kib: number): Tmpfs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  mount('-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs', dir);
  const filler = path.join(dir, '.filler');
  return {
    dir,
    resize: (size) => mount('-o', `remount,size=${size}k`, dir),
    readOnly: () => mount('-o', 'remount,ro', dir),
    writable: () => mount('-o', 'remount,rw', dir),
    fill: () => {
      // dd stops at ENOSPC with status 1: that is the point, so its status is not checked.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'pipe' });
      } catch {
        // the disk is full now
      }
    },
    free: () => fs.rmSync(filler, { force: true }),
    unmount: () => {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
