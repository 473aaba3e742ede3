/** Key checks shared by the adapters (kept free of any backend's native module). */
import { Row, TableDef, WarehouseSchemaError } from './types';

/** Both backends reject a batch that names one key twice (MERGE would fail on BigQuery anyway). */
export function assertUniqueKeys(table: TableDef, key: readonly string[], rows: readonly Row[], op = 'upsert'): void {
  const seen = new Set<string>();
  for (const row of rows) {
    const k = JSON.stringify(key.map((c) => String(row[c])));
    if (seen.has(k)) throw new WarehouseSchemaError(`${op} into ${table.name}: key ${k} appears twice in one batch`);
    seen.add(k);
  }
}

/** The key an upsert replaces by; a table without one cannot be upserted. */
export function requireKey(table: TableDef, op = 'upsert'): string[] {
  if (!table.key || table.key.length === 0) throw new WarehouseSchemaError(`table ${table.name} has no key for ${op}`);
  return table.key;
}
