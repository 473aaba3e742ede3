/**
 * What the API logs about requests, so that a busy API's log stays small by default:
 *
 * - a 5xx response: one `error` line (method, URL, route, status, time), unless the error handler
 *   already logged that request with its error;
 * - a 4xx response: one `debug` line (the client's mistake; counted in the summary, visible with
 *   LOG_LEVEL=debug);
 * - a request slower than `slowRequestMs`: one `warn` line;
 * - every `summaryIntervalMs`, if any request came: one `info` line with the counts and the p50/p99
 *   latency, estimated from the `http_request_duration_seconds` histogram's buckets over that
 *   interval (as Prometheus' histogram_quantile does).
 *
 * Fastify's own two lines per request ("incoming request", "request completed") are off unless
 * `accessLog` (API_ACCESS_LOG=true); buildApp sets `disableRequestLogging` accordingly.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Histogram } from 'prom-client';
import { UNMATCHED_ROUTE } from './metrics';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the error handler when it logged this request's error (no second line for it). */
    errorLogged: boolean;
  }
}

export interface RequestLogOptions {
  /** Fastify's per-request lines; off by default. */
  accessLog: boolean;
  /** Requests slower than this are logged at warn; 0 = never. */
  slowRequestMs: number;
  /** Period of the summary line; 0 = no summary. */
  summaryIntervalMs: number;
}

export const DEFAULT_REQUEST_LOG: RequestLogOptions = { accessLog: false, slowRequestMs: 500, summaryIntervalMs: 60_000 };

interface Counts {
  requests: number;
  serverErrors: number;
  clientErrors: number;
  slow: number;
}

const zero = (): Counts => ({ requests: 0, serverErrors: 0, clientErrors: 0, slow: 0 });

export default fp<Partial<RequestLogOptions>>(
  async (fastify, options) => {
    const { slowRequestMs, summaryIntervalMs } = { ...DEFAULT_REQUEST_LOG, ...options };
    let counts = zero();
    fastify.decorateRequest('errorLogged', false);

    fastify.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      const ms = reply.elapsedTime;
      const slow = slowRequestMs > 0 && ms >= slowRequestMs;
      counts.requests++;
      if (slow) counts.slow++;
      if (status >= 500) counts.serverErrors++;
      else if (status >= 400) counts.clientErrors++;
      // At most one line per request.
      if (status >= 500 && !request.errorLogged) request.log.error(fields(request, status, ms), 'request failed');
      else if (slow) request.log.warn(fields(request, status, ms), 'slow request');
      else if (status >= 400 && status < 500) request.log.debug(fields(request, status, ms), 'request rejected');
    });

    if (summaryIntervalMs <= 0) return;
    const histogram = fastify.metrics.getSingleMetric('http_request_duration_seconds') as Histogram | undefined;
    let previousBuckets = new Map<number, number>();
    let lastAt = Date.now();
    const summarize = async (): Promise<void> => {
      const interval = counts;
      counts = zero();
      const buckets = histogram ? await cumulativeBuckets(histogram) : new Map<number, number>();
      const delta = new Map([...buckets].map(([le, count]) => [le, count - (previousBuckets.get(le) ?? 0)]));
      previousBuckets = buckets;
      const seconds = (Date.now() - lastAt) / 1000;
      lastAt = Date.now();
      if (interval.requests === 0) return;
      fastify.log.info(
        {
          intervalS: Math.round(seconds),
          requests: interval.requests,
          serverErrors: interval.serverErrors,
          clientErrors: interval.clientErrors,
          slow: interval.slow,
          p50Ms: toMs(quantile(delta, 0.5)),
          p99Ms: toMs(quantile(delta, 0.99)),
        },
        'requests summary',
      );
    };
    const timer = setInterval(() => void summarize().catch((err: unknown) => fastify.log.warn({ err }, 'request summary failed')), summaryIntervalMs);
    timer.unref();
    fastify.addHook('onClose', async () => {
      clearInterval(timer);
      await summarize(); // the last interval's requests are not lost on a restart
    });
  },
  { name: 'request-log', dependencies: ['metrics'] },
);

function fields(request: FastifyRequest, statusCode: number, ms: number): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url,
    route: request.routeOptions.url ?? UNMATCHED_ROUTE,
    statusCode,
    responseTimeMs: Math.round(ms * 10) / 10,
  };
}

/** Observations at or below each bucket bound (`le`), summed over all label sets. */
async function cumulativeBuckets(histogram: Histogram): Promise<Map<number, number>> {
  const totals = new Map<number, number>();
  for (const value of (await histogram.get()).values) {
    if (!value.metricName?.endsWith('_bucket')) continue;
    const le = value.labels.le === '+Inf' ? Infinity : Number(value.labels.le);
    totals.set(le, (totals.get(le) ?? 0) + value.value);
  }
  return totals;
}

/** The q-quantile in seconds, interpolated linearly inside its bucket; the highest finite bound if it falls in +Inf. */
export function quantile(cumulative: Map<number, number>, q: number): number | undefined {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? (bounds.length > 0 ? (cumulative.get(bounds[bounds.length - 1]) as number) : 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = cumulative.get(bound) as number;
    if (count >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket > 0 ? lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / inBucket : bound;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

function toMs(seconds: number | undefined): number | null {
  return seconds === undefined ? null : Math.round(seconds * 10_000) / 10;
}
