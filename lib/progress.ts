/**
 * A dependency-free progress bar on stderr. On a terminal it redraws one line; in CI logs
 * (no TTY) it prints a line every 10% so logs stay readable.
 */
export interface Progress {
  update(done: number): void;
  finish(message?: string): void;
}

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let lastDecile = -1;
  const render = (done: number): string => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} (${rate}/s)`;
  };
  return {
    update(done: number): void {
      if (stream.isTTY) {
        stream.write(`\r${render(done)}`);
        return;
      }
      const decile = total > 0 ? Math.floor((done / total) * 10) : 0;
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${render(done)}\n`);
      }
    },
    finish(message?: string): void {
      if (stream.isTTY) stream.write('\n');
      if (message) stream.write(`${message}\n`);
    },
  };
}
