/**
 * Decorates `fastify.servingModel`: the promoted revenue model, reloaded when another version is
 * promoted (lib/model/serving.ts). Exposes the loaded version and a prediction counter as metrics.
 */
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../../lib/config';
import { ServingModel } from '../../lib/model/serving';
import { FileModelStore } from '../../lib/model/store';

declare module 'fastify' {
  interface FastifyInstance {
    servingModel: ServingModel;
    predictionsCounter: Counter<'route'>;
  }
}

export interface ModelPluginOptions {
  config: Config;
  /** Polling interval; 0 = load once (tests call refresh()). */
  reloadIntervalMs?: number;
}

export default fp<ModelPluginOptions>(
  async (fastify, { config, reloadIntervalMs = config.model.reloadIntervalMs }) => {
    const loadedVersion = new Gauge({
      name: 'model_loaded_info',
      help: 'The revenue model version being served (value 1 on its label).',
      labelNames: ['version'] as const,
      registers: [fastify.metrics],
    });
    const predictions = new Counter({
      name: 'predictions_total',
      help: 'Order-revenue predictions served, by route.',
      labelNames: ['route'] as const,
      registers: [fastify.metrics],
    });
    const serving = new ServingModel(fastify.warehouse, new FileModelStore(config.model.storeDir), (loaded) => {
      loadedVersion.reset();
      loadedVersion.set({ version: loaded.version }, 1);
      fastify.log.info({ version: loaded.version }, 'serving model');
    });
    fastify.decorate('servingModel', serving);
    fastify.decorate('predictionsCounter', predictions);
    await serving.refresh();
    if (reloadIntervalMs > 0) serving.start(reloadIntervalMs);
    fastify.addHook('onClose', async () => serving.stop());
  },
  { name: 'model', dependencies: ['warehouse', 'metrics'] },
);
