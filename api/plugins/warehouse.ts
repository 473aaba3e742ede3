/**
 * Decorates `fastify.warehouse`. An injected warehouse (tests) belongs to the caller; one opened
 * here is closed in onClose, after in-flight requests have finished.
 */
import fp from 'fastify-plugin';
import type { Config } from '../../lib/config';
import { openWarehouse } from '../../lib/warehouse';
import type { Warehouse } from '../../lib/warehouse/types';

declare module 'fastify' {
  interface FastifyInstance {
    warehouse: Warehouse;
  }
}

export interface WarehousePluginOptions {
  config: Config;
  warehouse?: Warehouse;
}

export default fp<WarehousePluginOptions>(
  async (fastify, { config, warehouse }) => {
    const owned = warehouse === undefined;
    // The API only reads briefly (health, model polling): release the DuckDB file at once.
    const instance = warehouse ?? (await openWarehouse(config, { duckdbIdleCloseMs: 0 }));
    fastify.decorate('warehouse', instance);
    if (owned) fastify.addHook('onClose', async () => instance.close());
  },
  { name: 'warehouse' },
);
