/** GET /metrics: Prometheus text format from the app's registry (see plugins/metrics.ts). */
import type { FastifyPluginAsync } from 'fastify';

const metricsRoutes: FastifyPluginAsync = async (fastify) => {
  fastify.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(fastify.metrics.contentType);
    return fastify.metrics.metrics();
  });
};

export default metricsRoutes;
