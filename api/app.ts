/**
 * The API application: everything but `listen` (that is api/server.ts), so tests can `inject()`.
 *
 * Loading order follows the Fastify guide: the security plugin (auth, rate limit, headers, CORS:
 * first, so it covers every route), ecosystem plugins (swagger, before any route), our
 * infrastructure plugins (metrics, warehouse, Temporal client; `fp` so their decorators reach every
 * route), the error and not-found handlers, then routes, each an encapsulated plugin in api/routes/.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifySchemaValidationError, type FastifyServerOptions } from 'fastify';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, type Config } from '../lib/config';
import type { DashboardCacheOptions } from '../lib/dashboard/cache';
import type { Warehouse } from '../lib/warehouse/types';
import metricsPlugin from './plugins/metrics';
import securityPlugin from './plugins/security';
import swaggerPlugin from './plugins/swagger';
import temporalPlugin from './plugins/temporal';
import warehousePlugin from './plugins/warehouse';
import modelPlugin from './plugins/model';
import requestLogPlugin, { type RequestLogOptions } from './plugins/request-log';
import healthRoutes from './routes/health';
import predictRoutes from './routes/predict';
import metricsRoutes from './routes/metrics';
import dashboardRoutes from './routes/dashboard';
import { ErrorResponse } from './schemas/common';

export interface AppOptions {
  config: Config;
  /** Default: pino at config.logLevel. Tests pass false. */
  logger?: FastifyServerOptions['logger'];
  /** Injected dependencies (tests). Ones passed here are not closed by the app; ones it opens are. */
  warehouse?: Warehouse;
  temporal?: Client;
  /** How often to look for a newly promoted model; default MODEL_RELOAD_INTERVAL_MS, 0 = only at start. */
  modelReloadIntervalMs?: number;
  /** Upper bound for each /health dependency check; default 2 s. */
  healthCheckTimeoutMs?: number;
  /** Request logging (api/plugins/request-log.ts); default from config.logs (API_ACCESS_LOG, API_SLOW_REQUEST_MS, API_SUMMARY_INTERVAL_MS). */
  requestLog?: Partial<RequestLogOptions>;
  /** How long the dashboard keeps its answers (lib/dashboard/cache.ts); `{ maxAgeMs: 0 }` computes every ask. */
  dashboardCache?: DashboardCacheOptions;
}

export function buildApp(options: AppOptions) {
  const { config } = options;
  const requestLog: RequestLogOptions = {
    accessLog: config.logs.apiAccessLog,
    slowRequestMs: config.logs.apiSlowRequestMs,
    summaryIntervalMs: config.logs.apiSummaryIntervalMs,
    ...options.requestLog,
  };
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    // Two info lines per request would fill the log of a busy API: errors, slow requests and a
    // periodic summary are logged instead (api/plugins/request-log.ts). API_ACCESS_LOG=true restores them.
    logController: new LogController({ disableRequestLogging: !requestLog.accessLog }),
    bodyLimit: config.api.bodyLimit,
    // Reject what the schema does not allow instead of silently reshaping the input.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    schemaErrorFormatter: namingTheField,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorResponse);
  app.register(securityPlugin, { security: config.api.security });
  app.register(swaggerPlugin, { version: packageVersion() });
  app.register(metricsPlugin);
  app.register(requestLogPlugin, requestLog);
  app.register(warehousePlugin, { config, warehouse: options.warehouse });
  app.register(temporalPlugin, { config, temporal: options.temporal });
  app.register(modelPlugin, { config, reloadIntervalMs: options.modelReloadIntervalMs });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ message: `Route ${request.method} ${request.url} not found` }),
  );

  app.register(healthRoutes, { checkTimeoutMs: options.healthCheckTimeoutMs ?? 2_000 });
  app.register(metricsRoutes);
  app.register(predictRoutes);
  app.register(dashboardRoutes, { config, cache: options.dashboardCache });
  return app;
}

export type App = ReturnType<typeof buildApp>;

/** Ajv's own text for an unknown field does not name it ("must NOT have additional properties"): name it. */
function namingTheField(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0];
  const where = `${dataVar}${first?.instancePath ? first.instancePath.replace(/\//g, '.') : ''}`;
  const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
  // `!== undefined`: an unknown field named "" (found by test/fuzz/api.test.ts) is still named.
  const text = params.additionalProperty !== undefined
    ? `${where} has an unknown field "${params.additionalProperty}"`
    : params.missingProperty !== undefined
      ? `${where} is missing the field "${params.missingProperty}"`
      : `${where} ${first?.message ?? 'is invalid'}`;
  return new Error(text);
}

/**
 * Validation errors and deliberate 4xx keep their message (the client needs it). Anything else may
 * carry driver or SQL details, so it is logged with the request and answered with a generic 500.
 */
async function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const statusCode = httpStatusOf(error);
  if (statusCode >= 400 && statusCode < 500) {
    return reply.code(statusCode).send({ message: error instanceof Error ? error.message : 'Bad Request' });
  }
  request.log.error(
    { err: error, method: request.method, url: request.url, params: request.params, query: request.query },
    'unhandled error',
  );
  request.errorLogged = true; // the request log adds no second line for it
  return reply.code(500).send({ message: 'Internal Server Error' });
}

function httpStatusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 500;
  if ('validation' in error && error.validation) return 400;
  const statusCode = 'statusCode' in error ? error.statusCode : undefined;
  return typeof statusCode === 'number' ? statusCode : 500;
}

function packageVersion(): string {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
