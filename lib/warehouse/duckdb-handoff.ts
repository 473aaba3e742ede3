/**
 * Turn-taking on one DuckDB file between processes.
 *
 * DuckDB lets one process hold a file, and the adapter gives it up only when it has been idle
 * for a moment. A busy holder is never idle: during a full backfill the worker kept the file for
 * the whole run, and the API and the consumer waited behind it (the contention fault test saw
 * dashboard requests of over 10 s). So a process waiting for the lock says so in
 * `<file>.waiting`, and a holder that sees a fresh note from another process lets its running
 * statements finish, closes the file and stays out for a moment, so the waiter gets in. The holder
 * then waits in turn, and its own note brings the file back once the other is done.
 *
 * Background polls do not leave a note (`withoutHandoff`): the API's model poll every 2 s would
 * otherwise make a busy worker step aside every 2 s (a full-year backfill in the stack went from
 * 40 s to 54-65 s). They wait quietly, as every waiter did before.
 *
 * A note is advisory: a stale one (its writer died) expires after NOTE_FRESH_MS, and a lost one
 * costs only the old behaviour (waiting until the holder goes idle).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';

/** A waiter rewrites its note on every retry (at most RETRY_MAX_MS apart), so older notes are stale. */
const NOTE_FRESH_MS = 1_000;
/** How often a holder looks at the note: a stat per this many ms at most. */
const CHECK_EVERY_MS = 50;
/** The longest pause between a waiter's attempts to open the file. */
export const RETRY_MAX_MS = 100;
/** How long a holder that stepped aside stays out: longer than a waiter's pause between attempts. */
export const STEP_ASIDE_MS = RETRY_MAX_MS + 50;

const background = new AsyncLocalStorage<true>();

/** Run `work`'s warehouse calls as background ones: they may wait for the file, but ask no holder to step aside. */
export function withoutHandoff<T>(work: () => Promise<T>): Promise<T> {
  return background.run(true, work);
}

/** Does the calling context ask a busy holder to step aside when it has to wait? */
export function asksForHandoff(): boolean {
  return background.getStore() !== true;
}

export class FileHandoff {
  private readonly note: string;
  private checkedAt = 0;
  private lastAnswer = false;

  constructor(dbPath: string) {
    this.note = `${dbPath}.waiting`;
  }

  /** The waiter's side, on each failed open. */
  announceWaiting(): void {
    try {
      fs.writeFileSync(this.note, String(process.pid));
    } catch {
      // a read-only directory: nobody can be told, and waiting still works
    }
  }

  /** The waiter got in: its note is done (another waiter's note stays). */
  gotIn(): void {
    try {
      if (fs.readFileSync(this.note, 'utf8') === String(process.pid)) fs.rmSync(this.note, { force: true });
    } catch {
      // no note
    }
  }

  /** The holder's side: has another process asked for the file within NOTE_FRESH_MS? */
  anotherWaits(now = Date.now()): boolean {
    if (now - this.checkedAt < CHECK_EVERY_MS) return this.lastAnswer;
    this.checkedAt = now;
    this.lastAnswer = this.readNote(now);
    return this.lastAnswer;
  }

  private readNote(now: number): boolean {
    try {
      const fresh = now - fs.statSync(this.note).mtimeMs < NOTE_FRESH_MS;
      return fresh && fs.readFileSync(this.note, 'utf8') !== String(process.pid);
    } catch {
      return false;
    }
  }
}
