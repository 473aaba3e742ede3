/**
 * A fresh backfill with a promoted model runs many days at once, and each day's first write
 * creates order_predictions: concurrent CREATE TABLE on one DuckDB file failed with "Catalog
 * write-write conflict". ensureSchema serialises schema changes per process.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { PREDICTION_TABLES } from '../lib/analytics/predictions';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';

describe('DuckDB schema creation under concurrency', () => {
  it('16 concurrent ensureSchema calls of new tables all succeed, with no failed attempt', async () => {
    for (let round = 0; round < 5; round++) {
      const wh = new DuckDBWarehouse({ path: path.join(tempDir(), 'w.duckdb') });
      try {
        const results = await Promise.allSettled(Array.from({ length: 16 }, () => wh.ensureSchema(PREDICTION_TABLES)));
        const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
        assert.deepEqual(failed, [], `round ${round}`);
        const tables = await wh.query<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name IN ('order_predictions', 'daily_predictions')`);
        assert.equal(tables[0].n, 2);
      } finally {
        await wh.close();
      }
    }
  });
});
