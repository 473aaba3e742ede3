/**
 * Decorates `fastify.temporal` with a Temporal Client. The connection is lazy so the API boots
 * (and reports "degraded") while Temporal is down; an injected client (tests) belongs to the caller.
 *
 * `fastify.trackTemporal(promise)` registers a call that may outlive its request (the health check
 * stops waiting after its timeout, but the client keeps retrying until the call's deadline). Closing
 * the connection under such a call makes the client's retry timer throw "Channel has been shut
 * down" as an uncaught exception, so onClose waits for tracked calls first (bounded).
 */
import { Client, Connection } from '@temporalio/client';
import fp from 'fastify-plugin';
import type { Config } from '../../lib/config';
import { temporalConnectionOptions } from '../../lib/temporal/connection-options';

declare module 'fastify' {
  interface FastifyInstance {
    temporal: Client;
    trackTemporal<T>(call: Promise<T>): Promise<T>;
  }
}

export interface TemporalPluginOptions {
  config: Config;
  temporal?: Client;
  /** Upper bound on waiting for in-flight calls at close; default 5 s. */
  closeWaitMs?: number;
}

export default fp<TemporalPluginOptions>(
  async (fastify, { config, temporal, closeWaitMs = 5_000 }) => {
    const inflight = new Set<Promise<unknown>>();
    fastify.decorate('trackTemporal', <T>(call: Promise<T>): Promise<T> => {
      const settled = call.then(() => undefined, () => undefined).finally(() => inflight.delete(settled));
      inflight.add(settled);
      return call;
    });
    if (temporal) {
      fastify.decorate('temporal', temporal);
      return;
    }
    const connection = Connection.lazy(temporalConnectionOptions(config.temporal.address, config.temporal.security));
    fastify.decorate('temporal', new Client({ connection, namespace: config.temporal.namespace }));
    fastify.addHook('onClose', async () => {
      await settleWithin([...inflight], closeWaitMs);
      await connection.close();
    });
  },
  { name: 'temporal' },
);

async function settleWithin(calls: Array<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(calls), timeout]).finally(() => clearTimeout(timer));
}
