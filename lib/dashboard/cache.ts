/**
 * Answers of the dashboard's queries, kept until the data they read changes. An open dashboard
 * asks again every 30 s, and a year's answers take full scans of the order lines; most of those
 * asks find nothing new. Each answer is stored with the warehouse's data version at the time, a
 * cheap fingerprint of every table the dashboard reads (row counts and the newest write time of
 * each): a later ask with the same version gets the stored answer, any write makes a new version.
 *
 * The version is read at most once per `probeEveryMs` (concurrent asks of one page load share one
 * read), so an answer can be that much older than a write. Answers are also dropped after
 * `maxAgeMs` whatever the version, which bounds what a write the fingerprint cannot see (a file
 * reloaded with --force to the same row count) leaves stale.
 */
import type { Warehouse } from '../warehouse/types';
import { ensureDashboardSchema } from './queries';

export interface DashboardCacheOptions {
  /** Read the data version at most this often; default 1 s. */
  probeEveryMs?: number;
  /** Drop an answer this old even if the version did not change; default 5 min; 0 keeps nothing. */
  maxAgeMs?: number;
  /** Answers kept (least recently used go first); default 100. */
  maxEntries?: number;
  now?: () => number;
}

/** One row: a count and a newest write per table (the ledger and registry have no write time: counts). */
const VERSION_SQL = `SELECT
  (SELECT COUNT(*) FROM orders_raw) AS raw_rows,
  (SELECT COUNT(*) FROM orders_stream) AS stream_rows,
  (SELECT MAX(stored_at) FROM orders_stream) AS stream_at,
  (SELECT COUNT(*) FROM stream_ledger) AS ledger_rows,
  (SELECT COUNT(*) FROM daily_metrics) AS metric_rows,
  (SELECT MAX(computed_at) FROM daily_metrics) AS metric_at,
  (SELECT COUNT(*) FROM daily_country_metrics) AS country_rows,
  (SELECT COUNT(*) FROM daily_predictions) AS prediction_rows,
  (SELECT MAX(scored_at) FROM daily_predictions) AS prediction_at,
  (SELECT COUNT(*) FROM dq_results) AS dq_rows,
  (SELECT MAX(computed_at) FROM dq_results) AS dq_at,
  (SELECT COUNT(*) FROM model_versions) AS model_rows,
  (SELECT MAX(seq) FROM model_promotions) AS promotion_seq`;

interface Entry {
  version: string;
  at: number;
  value: Promise<unknown>;
}

export class DashboardCache {
  private readonly entries = new Map<string, Entry>();
  private probe: { at: number; version: Promise<string> } | undefined;
  private readonly probeEveryMs: number;
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Asks answered from the cache and asks computed, for tests and the bench. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(private readonly wh: Warehouse, options: DashboardCacheOptions = {}) {
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.maxAgeMs = options.maxAgeMs ?? 300_000;
    this.maxEntries = options.maxEntries ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** The answer for `key` at the current data version: stored, or computed now (and stored). */
  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const version = await this.version();
    const hit = this.entries.get(key);
    if (hit && hit.version === version && this.maxAgeMs > 0 && this.now() - hit.at <= this.maxAgeMs) {
      this.entries.delete(key); // most recently used last
      this.entries.set(key, hit);
      this.stats.hits++;
      return hit.value as Promise<T>;
    }
    this.stats.misses++;
    const entry: Entry = { version, at: this.now(), value: compute() };
    this.entries.delete(key);
    this.entries.set(key, entry);
    // A failure is not kept: the next ask tries again.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return entry.value as Promise<T>;
  }

  /** Forget every answer (the next ask of each is computed). */
  clear(): void {
    this.entries.clear();
    this.probe = undefined;
  }

  private version(): Promise<string> {
    const now = this.now();
    if (!this.probe || now - this.probe.at >= this.probeEveryMs) {
      const version = (async () => {
        await ensureDashboardSchema(this.wh);
        const [row] = await this.wh.query(VERSION_SQL);
        return JSON.stringify(row ?? {});
      })();
      const probe = { at: now, version };
      this.probe = probe;
      version.catch(() => {
        if (this.probe === probe) this.probe = undefined;
      });
    }
    return this.probe.version;
  }
}
