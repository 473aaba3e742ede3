/**
 * One contract, every adapter: the same cases run unchanged against DuckDB (in memory and on
 * disk) and against BigQuery through its local emulator.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { TableDef, Warehouse, WarehouseSchemaError } from '../lib/warehouse/types';
import { tempDir } from './support/fixtures';

const ALL_TYPES: TableDef = {
  name: 'contract_all_types',
  columns: [
    { name: 'id', type: 'INT64' },
    { name: 'label', type: 'STRING' },
    { name: 'amount', type: 'NUMERIC' },
    { name: 'ratio', type: 'FLOAT64', nullable: true },
    { name: 'flag', type: 'BOOL' },
    { name: 'day', type: 'DATE' },
    { name: 'at', type: 'TIMESTAMP' },
    { name: 'note', type: 'STRING', nullable: true },
  ],
  key: ['id'],
};

const row = (id: number, over: Record<string, unknown> = {}) => ({
  id, label: `row ${id}`, amount: '12.345', ratio: 0.5, flag: id % 2 === 0, day: '2011-12-09',
  at: '2011-12-09T12:50:00.000Z', note: null, ...over,
});

export function warehouseContract(name: string, open: () => Promise<Warehouse>): void {
  describe(`warehouse contract: ${name}`, function () {
    this.timeout(120_000);
    let wh: Warehouse;
    const table = (suffix: string): TableDef => ({ ...ALL_TYPES, name: `${ALL_TYPES.name}_${suffix}` });

    before(async () => (wh = await open()));
    after(async () => wh?.close());

    it('ensureSchema is idempotent', async () => {
      const t = table('schema');
      await wh.ensureSchema([t]);
      await wh.ensureSchema([t]);
      const [{ n }] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t.name}`);
      assert.equal(n, 0);
    });

    it('round-trips every column type with normalised values and NULLs', async () => {
      const t = table('types');
      await wh.ensureSchema([t]);
      assert.equal(await wh.insertRows(t, [row(1), row(2, { ratio: null, note: 'x', amount: '-0.001' })]), 2);
      const rows = await wh.query(`SELECT * FROM ${t.name} ORDER BY id`);
      assert.deepEqual(rows, [row(1), row(2, { ratio: null, note: 'x', amount: '-0.001' })]);
    });

    it('binds @named parameters of every kind, with explicit casts for dates', async () => {
      const t = table('params');
      await wh.ensureSchema([t]);
      await wh.insertRows(t, [row(1), row(2, { day: '2011-12-08' }), row(3)]);
      const rows = await wh.query<{ id: number }>(
        `SELECT id FROM ${t.name}
         WHERE day = CAST(@day AS DATE) AND label LIKE @prefix AND id >= @min AND flag = @flag
         ORDER BY id`,
        { day: '2011-12-09', prefix: 'row%', min: 1, flag: false },
      );
      assert.deepEqual(rows.map((r) => r.id), [1, 3]);
      const [{ ts }] = await wh.query<{ ts: string }>('SELECT @at AS ts', { at: new Date('2011-12-09T12:50:00Z') });
      assert.equal(ts, '2011-12-09T12:50:00.000Z');
    });

    it('keeps NUMERIC sums exact: 1,000 x 0.1 is exactly 100', async () => {
      const t = table('numeric');
      await wh.ensureSchema([t]);
      await wh.insertRows(t, Array.from({ length: 1000 }, (_, i) => row(i, { amount: '0.1' })));
      const [r] = await wh.query<{ total: string; n: number }>(`SELECT SUM(amount) AS total, COUNT(*) AS n FROM ${t.name}`);
      assert.deepEqual(r, { total: '100', n: 1000 });
    });

    it('upsert replaces rows by key and never duplicates', async () => {
      const t = table('upsert');
      await wh.ensureSchema([t]);
      await wh.upsert(t, [row(1), row(2)]);
      await wh.upsert(t, [row(2, { label: 'changed' }), row(3)]);
      const rows = await wh.query<{ id: number; label: string }>(`SELECT id, label FROM ${t.name} ORDER BY id`);
      assert.deepEqual(rows, [{ id: 1, label: 'row 1' }, { id: 2, label: 'changed' }, { id: 3, label: 'row 3' }]);
    });

    it('upsert rejects a batch that repeats a key', async () => {
      const t = table('dupkey');
      await wh.ensureSchema([t]);
      await assert.rejects(wh.upsert(t, [row(1), row(1)]), WarehouseSchemaError);
    });

    it('insertNew stores each key once, even from concurrent writers, and leaves existing rows as they are', async () => {
      const t: TableDef = table('insertnew');
      await wh.ensureSchema([t]);
      await wh.insertNew(t, [row(1), row(2)]);
      await wh.insertNew(t, [row(2, { label: 'second writer' }), row(3)]);
      // Three writers at once, overlapping keys: each key ends up stored once.
      await Promise.all([0, 1, 2].map((w) => wh.insertNew(t, [4, 5, 6].map((id) => row(id, { label: `writer ${w}` })))));
      const rows = await wh.query<{ id: number; label: string }>(`SELECT id, label FROM ${t.name} ORDER BY id`);
      assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 5, 6]);
      assert.equal(rows[1].label, 'row 2', 'a row already stored is not replaced');
      await assert.rejects(wh.insertNew(t, [row(7), row(7)]), WarehouseSchemaError);
    });

    it('bulkLoad streams batches from an async iterable and counts rows', async () => {
      const t = table('bulk');
      await wh.ensureSchema([t]);
      async function* batches() {
        for (let b = 0; b < 3; b++) yield Array.from({ length: 2500 }, (_, i) => row(b * 2500 + i));
      }
      assert.equal(await wh.bulkLoad(t, batches()), 7500);
      const [r] = await wh.query<{ n: number; ids: number }>(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM ${t.name}`);
      assert.deepEqual(r, { n: 7500, ids: 7500 });
    });

    it('execute runs DML', async () => {
      const t = table('dml');
      await wh.ensureSchema([t]);
      await wh.insertRows(t, [row(1), row(2), row(3)]);
      await wh.execute(`DELETE FROM ${t.name} WHERE id <> @keep`, { keep: 2 });
      const rows = await wh.query<{ id: number }>(`SELECT id FROM ${t.name}`);
      assert.deepEqual(rows, [{ id: 2 }]);
    });

    it('reports bad SQL and schema mismatches as WarehouseSchemaError', async () => {
      await assert.rejects(wh.query('SELECT no_such_column FROM contract_all_types_types'), WarehouseSchemaError);
      const t = table('types');
      const drifted: TableDef = { ...t, columns: [...t.columns, { name: 'extra', type: 'STRING', nullable: true }] };
      await assert.rejects(wh.ensureSchema([drifted]), WarehouseSchemaError);
      await assert.rejects(wh.insertRows(t, [row(9, { label: null })]), WarehouseSchemaError);
    });
  });
}

warehouseContract('duckdb (memory)', async () => new DuckDBWarehouse({ path: ':memory:' }));
warehouseContract('duckdb (file, closes when idle)', async () =>
  new DuckDBWarehouse({ path: path.join(tempDir(), 'contract.duckdb'), idleCloseMs: 1 }),
);

// DuckDB only: BigQuery has no transaction across API calls (Warehouse.atomically says so).
describe('DuckDB: all or nothing', () => {
  const t: TableDef = { ...ALL_TYPES, name: 'atomic_rows' };
  let wh: DuckDBWarehouse;
  beforeEach(async () => {
    wh = new DuckDBWarehouse({ path: path.join(tempDir(), 'atomic.duckdb'), idleCloseMs: 1 });
    await wh.ensureSchema([t]);
    await wh.insertRows(t, [row(1)]);
  });
  afterEach(() => wh.close());
  const ids = async () => (await wh.query<{ id: number }>(`SELECT id FROM ${t.name} ORDER BY id`)).map((r) => r.id);

  it('a bulkLoad whose batches fail midway keeps none of them (the appender alone commits as it goes)', async () => {
    async function* failing() {
      yield Array.from({ length: 300_000 }, (_, i) => row(10 + i)); // past the appender's own flush size
      throw new Error('the source broke');
    }
    await assert.rejects(wh.bulkLoad(t, failing()), /the source broke/);
    assert.deepEqual(await ids(), [1]);
  });

  it('atomically: every write inside commits together, or none does; a nested upsert joins it', async () => {
    await assert.rejects(wh.atomically(async () => {
      await wh.execute(`DELETE FROM ${t.name}`);
      await wh.bulkLoad(t, [[row(2), row(3)]]);
      await wh.upsert(t, [row(4)]);
      throw new Error('stop before the end');
    }), /stop before the end/);
    assert.deepEqual(await ids(), [1]);
    await wh.atomically(async () => {
      await wh.execute(`DELETE FROM ${t.name}`);
      await wh.bulkLoad(t, [[row(2), row(3)]]);
      await wh.upsert(t, [row(4)]);
    });
    assert.deepEqual(await ids(), [2, 3, 4]);
  });
});

describe('@integration BigQuery adapter against the emulator', () => {
  // Registered only when the root hook started the emulator (not in a unit-only run).
  if (process.env.RETAILFLOW_TEST_SERVICES === 'none') return;
  warehouseContract('bigquery (emulator)', async () => {
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (!host) throw new Error('BIGQUERY_EMULATOR_HOST is not set: the root hook should have started the emulator');
    return createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `contract_${Date.now()}`, location: 'US', emulatorHost: host });
  });
});
