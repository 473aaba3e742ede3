/**
 * GET /health: is the API up, and can it reach its dependencies? Always 200 while the API serves
 * (a liveness answer); `status` is "degraded" when a dependency check fails, with details per check.
 * Each check is bounded by a timeout so a hung dependency cannot hang the probe.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';

const CheckResult = {
  ok: Type.Boolean(),
  latencyMs: Type.Number({ description: 'Time the check took, in milliseconds.' }),
  error: Type.Optional(Type.String({ description: 'Why the check failed.' })),
};

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
  model: Type.Object({
    loaded: Type.Boolean(),
    version: Type.Optional(Type.String()),
    loadedAt: Type.Optional(Type.String()),
    error: Type.Optional(Type.String({ description: 'Why the last reload failed (the previous model keeps serving).' })),
  }),
  checks: Type.Object({
    warehouse: Type.Object({ ...CheckResult, backend: Type.String() }),
    temporal: Type.Object({ ...CheckResult, namespace: Type.String() }),
  }),
});
export type HealthResponse = Static<typeof HealthResponse>;

export interface HealthRoutesOptions {
  checkTimeoutMs: number;
}

interface CheckOutcome {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (fastify, { checkTimeoutMs }) => {
  fastify.get(
    '/health',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness and dependency checks',
        response: { 200: HealthResponse },
      },
    },
    async () => {
      const { warehouse, temporal } = fastify;
      // The gRPC deadline cancels the call itself; runCheck's timer bounds everything else (e.g. connecting).
      const askTemporal = () =>
        fastify.trackTemporal(temporal.connection.withDeadline(Date.now() + checkTimeoutMs, () => temporal.workflowService.getSystemInfo({})));
      const [warehouseCheck, temporalCheck] = await Promise.all([
        runCheck(() => warehouse.query('SELECT 1 AS ok'), checkTimeoutMs),
        runCheck(askTemporal, checkTimeoutMs),
      ]);
      const loaded = fastify.servingModel.current();
      return {
        status: warehouseCheck.ok && temporalCheck.ok ? 'healthy' : 'degraded',
        model: {
          loaded: loaded !== undefined,
          version: loaded?.version,
          loadedAt: loaded?.loadedAt.toISOString(),
          error: fastify.servingModel.lastError,
        },
        checks: {
          warehouse: { ...warehouseCheck, backend: warehouse.backend },
          temporal: { ...temporalCheck, namespace: temporal.options.namespace },
        },
      } as const;
    },
  );
};

export default healthRoutes;

async function runCheck(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckOutcome> {
  const started = performance.now();
  const latencyMs = (): number => Math.round(performance.now() - started);
  try {
    await withTimeout(check(), timeoutMs);
    return { ok: true, latencyMs: latencyMs() };
  } catch (err) {
    return { ok: false, latencyMs: latencyMs(), error: shortMessage(err) };
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  promise.catch(() => undefined); // the loser of the race may still reject later
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function shortMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
