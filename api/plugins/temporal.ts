/**
 * Decorates `fastify.temporal` with a Temporal Client. The connection is lazy so the API boots
 * (and reports "degraded") while Temporal is down; an injected client (tests) belongs to the caller.
 */
import { Client, Connection } from '@temporalio/client';
import fp from 'fastify-plugin';
import type { Config } from '../../lib/config';

declare module 'fastify' {
  interface FastifyInstance {
    temporal: Client;
  }
}

export interface TemporalPluginOptions {
  config: Config;
  temporal?: Client;
}

export default fp<TemporalPluginOptions>(
  async (fastify, { config, temporal }) => {
    if (temporal) {
      fastify.decorate('temporal', temporal);
      return;
    }
    const connection = Connection.lazy({ address: config.temporal.address });
    fastify.decorate('temporal', new Client({ connection, namespace: config.temporal.namespace }));
    fastify.addHook('onClose', async () => connection.close());
  },
  { name: 'temporal' },
);
