/**
 * The small HTTP servers of the worker and the stream consumer: health for the supervisor and
 * orchestrators, stats, and Prometheus metrics. Built on Fastify (already the API's framework)
 * rather than node:http by hand: routing, HEAD, 404s and error handling come with it.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';

export interface ProbeResponse {
  status: number;
  /** An object is sent as JSON; a string as is, with `contentType`. */
  body: object | string;
  contentType?: string;
}

/** GET path -> response; handlers are cheap reads of process state (or one bounded query). */
export type ProbeRoutes = Record<string, () => ProbeResponse | Promise<ProbeResponse>>;

export interface ProbeServer {
  port: number;
  close(): Promise<void>;
}

export async function startProbeServer(options: { host: string; port: number; routes: ProbeRoutes }): Promise<ProbeServer> {
  // forceCloseConnections: a keep-alive scraper must not hold the process open at shutdown.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  for (const [url, handler] of Object.entries(options.routes)) {
    app.get(url, async (_request, reply) => {
      const { status, body, contentType } = await handler();
      reply.code(status);
      if (contentType) reply.type(contentType);
      return body;
    });
  }
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ message: 'Not Found' }));
  app.setErrorHandler((err, _request, reply) => reply.code(500).send({ message: err instanceof Error ? err.message : String(err) }));
  await app.listen({ host: options.host, port: options.port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
