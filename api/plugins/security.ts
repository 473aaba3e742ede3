/**
 * The API's protections, registered before every route so they cover all of them (the dashboard,
 * its data, /metrics, /docs, predictions), each switched by config.api.security:
 * - an API key: `x-api-key`, `Authorization: Bearer`, or the password of HTTP Basic, so that
 *   scripts, Prometheus (bearer or basic_auth) and a browser opening the dashboard (it prompts on
 *   the 401's WWW-Authenticate) can all present one; /health can stay open for probes;
 * - @fastify/rate-limit per client (its API key, else its address), 429 with Retry-After; it
 *   runs before the key check, so guessing keys is limited too;
 * - @fastify/helmet's headers;
 * - @fastify/cors only for the origins configured (none: no CORS headers, browsers refuse).
 * See docs/security.md.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiSecurity } from '../../lib/config';
import { matchApiKey, resolveApiKeys, type ApiKey } from '../../lib/security/api-keys';

declare module 'fastify' {
  interface FastifyRequest {
    /** The id (hash prefix) of the API key that authenticated this request. */
    apiKeyId?: string;
  }
}

export interface SecurityPluginOptions {
  security: ApiSecurity;
}

/** What the client sent as its key, from whichever of the three places it used. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const authorization = request.headers.authorization ?? '';
  const [scheme, value = ''] = authorization.split(' ', 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1); // user name ignored: the password is the key
  }
  return undefined;
}

const UNAUTHORISED = 'missing or unknown API key: send it as the x-api-key header, Authorization: Bearer <key>, or the password of Basic auth';

export default fp<SecurityPluginOptions>(
  async (fastify, { security }) => {
    const keys = resolveApiKeys(security);
    const isOpen = (request: FastifyRequest): boolean =>
      (security.healthOpen && request.routeOptions.url === '/health') || (security.corsOrigins.length > 0 && request.method === 'OPTIONS');

    if (security.corsOrigins.length > 0) {
      await fastify.register(cors, { origin: security.corsOrigins, allowedHeaders: ['content-type', 'x-api-key', 'authorization'], maxAge: 600 });
    }
    if (security.securityHeaders) {
      // No upgrade-insecure-requests: behind plain HTTP on 127.0.0.1 it would send the dashboard's
      // scripts to https and break the page; the TLS proxy in front owns that decision.
      await fastify.register(helmet, { contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } } });
    }
    if (security.rateLimitMax > 0) {
      // global: false and one app-level hook instead of the plugin's per-route hooks: those run after
      // app-level hooks, so requests the key check turns away (and unknown routes) would not count.
      await fastify.register(rateLimit, {
        global: false,
        max: security.rateLimitMax,
        timeWindow: security.rateLimitWindowMs,
        allowList: (request) => isOpen(request),
        keyGenerator: (request) => clientOf(keys, request),
        errorResponseBuilder: (_request, context) =>
          Object.assign(new Error(`rate limit: at most ${context.max} requests per ${context.after} for one client; retry after ${Math.ceil(context.ttl / 1000)} s`), { statusCode: 429 }),
      });
      fastify.addHook('onRequest', fastify.rateLimit());
    }
    if (security.auth) {
      fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (isOpen(request)) return;
        const key = matchApiKey(keys, presentedKey(request));
        if (key) {
          request.apiKeyId = key.id;
          return;
        }
        reply.header('www-authenticate', 'Basic realm="retailflow", charset="UTF-8"');
        return reply.code(401).send({ message: UNAUTHORISED });
      });
    }
  },
  { name: 'security' },
);

/** A rate-limit bucket: the key that matched, else the address (guessed keys share the address's bucket). */
function clientOf(keys: readonly ApiKey[], request: FastifyRequest): string {
  const key = matchApiKey(keys, presentedKey(request));
  return key ? `key:${key.id}` : `ip:${request.ip}`;
}
