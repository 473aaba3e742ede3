/**
 * OpenAPI document at /docs/json and Swagger UI at /docs. Registered before any route: routes added
 * earlier are missing from the document. Only tagged routes are listed (`hideUntagged`).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

export interface SwaggerPluginOptions {
  version: string;
}

export default fp<SwaggerPluginOptions>(
  async (fastify, { version }) => {
    await fastify.register(swagger, {
      openapi: {
        info: {
          title: 'retailflow API',
          description: 'E-commerce analytics on Temporal: health, metrics and predictions.',
          version,
        },
      },
      hideUntagged: true,
      // Name shared schemas by their $id ("ErrorResponse") instead of "def-0".
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
      },
    });
    await fastify.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'swagger' },
);
