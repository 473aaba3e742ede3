/**
 * Prometheus metrics for the API: Node defaults plus `http_request_duration_seconds` by method,
 * route pattern and status code. The label is the route pattern ("/predict/:id"), never the raw URL,
 * so label cardinality stays bounded; unmatched requests share one label.
 *
 * Each app gets its own Registry, so tests can build many apps in one process.
 */
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

export const UNMATCHED_ROUTE = '(unmatched)';

export default fp(
  async (fastify) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      // prom-client's defaults start at 5 ms; most requests here take well under that, and the
      // API's summary log line estimates p50/p99 from these buckets.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    fastify.decorate('metrics', registry);
    fastify.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
  },
  { name: 'metrics' },
);
