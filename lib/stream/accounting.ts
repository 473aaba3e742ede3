/**
 * Stream accounting: every message taken off the subscription ends in exactly one of stored
 * (orders_stream), duplicate or dead-lettered (stream_ledger). Totals come from those tables, so
 * they survive restarts; publishers append their counts to RUN_DIR/stream/published.jsonl so
 * `stream stats` can show what is still pending.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Warehouse } from '../warehouse/types';
import { STREAM_TABLES } from './tables';

export interface StreamTotals {
  stored: number;
  duplicates: number;
  deadLettered: number;
  /** stored + duplicates + dead-lettered. */
  accounted: number;
  highValue: number;
  firstAt: string | null;
  lastAt: string | null;
  /** Accounted messages per second between the first and the last one. */
  overallRate: number;
  /** Per second over the 60 s before the last accounted message. */
  recentRate: { stored: number; duplicates: number; deadLettered: number };
}

export const RATE_WINDOW_S = 60;

export async function streamTotals(wh: Warehouse): Promise<StreamTotals> {
  await wh.ensureSchema(STREAM_TABLES);
  const [s] = await wh.query<{ n: number; hv: number | null; first_at: string | null; last_at: string | null }>(
    `SELECT COUNT(*) AS n, SUM(CASE WHEN high_value THEN 1 ELSE 0 END) AS hv, MIN(stored_at) AS first_at, MAX(stored_at) AS last_at FROM orders_stream`,
  );
  const ledger = await wh.query<{ outcome: string; n: number; first_at: string | null; last_at: string | null }>(
    `SELECT outcome, COUNT(*) AS n, MIN(recorded_at) AS first_at, MAX(recorded_at) AS last_at FROM stream_ledger GROUP BY outcome`,
  );
  const byOutcome = (o: string) => ledger.find((r) => r.outcome === o);
  const times = [s, ...ledger].flatMap((r) => [r.first_at, r.last_at]).filter((t): t is string => t !== null).sort();
  const firstAt = times[0] ?? null;
  const lastAt = times[times.length - 1] ?? null;
  const stored = Number(s.n);
  const duplicates = Number(byOutcome('duplicate')?.n ?? 0);
  const deadLettered = Number(byOutcome('dead_lettered')?.n ?? 0);
  const accounted = stored + duplicates + deadLettered;
  let recentRate = { stored: 0, duplicates: 0, deadLettered: 0 };
  if (lastAt) {
    const since = new Date(Date.parse(lastAt) - RATE_WINDOW_S * 1000);
    const [r] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM orders_stream WHERE stored_at >= @since`, { since });
    const recent = await wh.query<{ outcome: string; n: number }>(
      `SELECT outcome, COUNT(*) AS n FROM stream_ledger WHERE recorded_at >= @since GROUP BY outcome`,
      { since },
    );
    const per = (n: number | undefined) => Number(n ?? 0) / RATE_WINDOW_S;
    recentRate = {
      stored: per(r.n),
      duplicates: per(recent.find((x) => x.outcome === 'duplicate')?.n),
      deadLettered: per(recent.find((x) => x.outcome === 'dead_lettered')?.n),
    };
  }
  const span = firstAt && lastAt ? (Date.parse(lastAt) - Date.parse(firstAt)) / 1000 : 0;
  return {
    stored, duplicates, deadLettered, accounted, highValue: Number(s.hv ?? 0), firstAt, lastAt,
    overallRate: span > 0 ? accounted / span : 0,
    recentRate,
  };
}

export interface PublishRecord {
  at: string;
  source: string;
  topic: string;
  published: number;
  failed: number;
  seconds: number;
}

export function publishLogPath(runDir: string): string {
  return path.join(runDir, 'stream', 'published.jsonl');
}

export function recordPublish(runDir: string, record: PublishRecord): void {
  const file = publishLogPath(runDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Total published per topic according to the local publish log (0 if there is none). */
export function publishedTotal(runDir: string, topic: string): number {
  const file = publishLogPath(runDir);
  if (!fs.existsSync(file)) return 0;
  let total = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as Partial<PublishRecord>;
      if (r.topic === topic && typeof r.published === 'number') total += r.published;
    } catch {
      // a torn last line from a killed publisher: skip it
    }
  }
  return total;
}
