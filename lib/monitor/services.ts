/**
 * Rows for the platform's HTTP parts: the Temporal Web UI, the API (GET /health, /models/current)
 * and the stream consumer (GET /health, /stats on STREAM_HEALTH_PORT). Each `*Row` function maps
 * answers to a row and does no I/O (unit-tested); each `*Check` does the requests.
 */
import type { StreamTotals } from '../stream/accounting';
import { httpGet, httpTry, type HttpAnswer } from './http';
import { count, errorLine, fail, ok, relativeTime, seconds, warn, type Check, type MonitorRow } from './rows';

export const PART = {
  webUi: 'temporal web ui',
  api: 'api',
  consumer: 'consumer',
} as const;

// ---- Temporal Web UI ----------------------------------------------------------------------------

export function webUiRow(url: string, answer: HttpAnswer | Error): MonitorRow {
  if (answer instanceof Error) return fail(PART.webUi, `${url}: ${errorLine(answer)}`, { url });
  const data = { url, httpStatus: answer.status, latencyMs: answer.ms };
  if (answer.status !== 200) return fail(PART.webUi, `${url}: HTTP ${answer.status}`, data);
  return ok(PART.webUi, `${url} HTTP 200 (${answer.ms} ms)`, data);
}

export function webUiCheck(url: string): Check {
  return { parts: [PART.webUi], run: async (signal) => [webUiRow(url, await httpTry(url, signal))] };
}

// ---- API ----------------------------------------------------------------------------------------

/** GET /health of the API (api/routes/health.ts), as far as the monitor reads it. */
interface ApiHealthBody {
  status?: string;
  model?: { loaded?: boolean; version?: string; error?: string };
  checks?: Record<string, { ok?: boolean; latencyMs?: number; error?: string }>;
}

/**
 * OK: /health answers `healthy`. WARN: it answers `degraded` (the API serves, a dependency check
 * failed; that dependency's own row says more). FAIL: no answer or not HTTP 200.
 * The model: /models/current 200 names the version served; 503 means none is promoted yet, which
 * is a state of a new platform, not a fault.
 */
export function apiRow(baseUrl: string, health: HttpAnswer | Error, current: HttpAnswer | Error): MonitorRow {
  const url = `${baseUrl}/health`;
  if (health instanceof Error) return fail(PART.api, `${url}: ${errorLine(health)}`, { url });
  if (health.status !== 200) return fail(PART.api, `${url}: HTTP ${health.status}`, { url, httpStatus: health.status });
  const body = (typeof health.body === 'object' && health.body !== null ? health.body : {}) as ApiHealthBody;
  const checks = Object.entries(body.checks ?? {});
  const failing = checks.filter(([, c]) => !c.ok).map(([name, c]) => `${name}: ${c.error ?? 'failed'}`);
  const model = modelOf(current, body);
  const data = { url, latencyMs: health.ms, status: body.status, checks: body.checks, model: model.data };
  const checksText = checks.map(([name, c]) => `${name} ${c.ok ? 'ok' : 'FAILED'}`).join(', ');
  if (body.status !== 'healthy') {
    return warn(PART.api, `${body.status ?? 'unknown status'}: ${failing.join('; ') || 'no details'}; model ${model.text}`, data);
  }
  const row = `healthy (${health.ms} ms; ${checksText}); model ${model.text}`;
  return model.problem ? warn(PART.api, row, data) : ok(PART.api, row, data);
}

function modelOf(current: HttpAnswer | Error, health: ApiHealthBody): { text: string; data: Record<string, unknown>; problem: boolean } {
  if (current instanceof Error) return { text: `unknown (/models/current: ${errorLine(current)})`, data: { error: errorLine(current) }, problem: true };
  if (current.status === 200) {
    const body = current.body as { version?: string; loaded_at?: string };
    const reloadError = health.model?.error;
    return {
      text: `${body.version ?? '?'}${reloadError ? ` (last reload failed: ${reloadError})` : ''}`,
      data: { version: body.version, loadedAt: body.loaded_at, ...(reloadError ? { reloadError } : {}) },
      problem: Boolean(reloadError),
    };
  }
  if (current.status === 503) return { text: 'none promoted yet', data: { version: null }, problem: false };
  return { text: `unknown (/models/current: HTTP ${current.status})`, data: { httpStatus: current.status }, problem: true };
}

export function apiCheck(baseUrl: string): Check {
  return {
    parts: [PART.api],
    run: async (signal) => {
      const [health, current] = await Promise.all([httpTry(`${baseUrl}/health`, signal), httpTry(`${baseUrl}/models/current`, signal)]);
      return [apiRow(baseUrl, health, current)];
    },
  };
}

// ---- Stream consumer ----------------------------------------------------------------------------

/** GET /health of the consumer (workers/consumer.ts). */
interface ConsumerHealthBody {
  status?: string;
  state?: string;
  subscription?: string;
  model?: { status?: string; modelVersion?: string; reason?: string };
  inFlight?: number;
  counts?: { received?: number; stored?: number; duplicates?: number; deadLettered?: number; writeFailures?: number };
  error?: string;
}

/** GET /stats of the consumer: durable totals from the warehouse. */
export interface ConsumerStats {
  totals: StreamTotals;
}

/**
 * The consumer's /stats, fetched once per monitor run and shared by the consumer and subscription
 * rows. It gets three quarters of a check's time, so that a slow answer (it queries the warehouse)
 * leaves those rows time to say "unknown" instead of timing out whole.
 */
export function consumerStatsOnce(statsUrl: string, timeoutMs: number): () => Promise<ConsumerStats | Error> {
  const budgetMs = Math.max(100, Math.round(timeoutMs * 0.75));
  let answer: Promise<ConsumerStats | Error> | undefined;
  return () =>
    (answer ??= httpGet(statsUrl, AbortSignal.timeout(budgetMs)).then(
      (a) => (a.status === 200 && (a.body as Partial<ConsumerStats>)?.totals ? (a.body as ConsumerStats) : new Error(`/stats: HTTP ${a.status}`)),
      (err: unknown) => new Error(`/stats: ${(err as Error)?.name === 'TimeoutError' ? `no answer within ${seconds(budgetMs)}` : errorLine(err)}`),
    ));
}

/**
 * The consumer's lag is the subscription's backlog (messages published but not yet stored,
 * dead-lettered or found duplicate): the emulator does not report a backlog, so it is estimated
 * as published (the publish log) minus accounted (the consumer's durable totals).
 */
export interface BacklogEstimate {
  backlog: number;
  published: number;
  accounted: number;
}

export function estimateBacklog(published: number, accounted: number): BacklogEstimate {
  return { backlog: Math.max(0, published - accounted), published, accounted };
}

/**
 * OK: /health 200 (pulling). WARN: 503 while starting or draining, or its totals (/stats) did not
 * come in time (lag and rates unknown). FAIL: no answer, or 503 while
 * running (it failed to write: the error is shown). Rates are the warehouse's: per second over
 * the 60 s before the last accounted message.
 */
export function consumerRow(healthUrl: string, health: HttpAnswer | Error, stats: ConsumerStats | Error, lag: BacklogEstimate | undefined, now: Date): MonitorRow {
  if (health instanceof Error) return fail(PART.consumer, `${healthUrl}: ${errorLine(health)}`, { url: healthUrl });
  const body = (typeof health.body === 'object' && health.body !== null ? health.body : {}) as ConsumerHealthBody;
  if (health.status !== 200 && health.status !== 503) return fail(PART.consumer, `${healthUrl}: HTTP ${health.status}`, { url: healthUrl, httpStatus: health.status });
  const c = body.counts ?? {};
  const parts: string[] = [`${body.status ?? '?'} (${body.state ?? '?'})`, `in flight ${body.inFlight ?? '?'}`];
  const data: Record<string, unknown> = { url: healthUrl, latencyMs: health.ms, state: body.state, inFlight: body.inFlight, counts: body.counts };
  if (lag) {
    parts.push(`lag ~${count(lag.backlog)} msgs`);
    data.lag = lag.backlog;
  }
  if (stats instanceof Error) {
    parts.push(`lag and rates unknown (${stats.message})`);
  } else {
    const t = stats.totals;
    const r = t.recentRate;
    parts.push(`last 60 s ${r.stored.toFixed(1)} stored/s, ${r.duplicates.toFixed(1)} dup/s, ${r.deadLettered.toFixed(1)} dlq/s`);
    parts.push(t.lastAt ? `last write ${relativeTime(new Date(t.lastAt), now)}` : 'nothing stored yet');
    data.totals = t;
  }
  if (c.writeFailures) parts.push(`${count(c.writeFailures)} write failures since start`);
  if (body.model) parts.push(`model ${body.model.status === 'ready' ? body.model.modelVersion : 'none'}`);
  const detail = parts.join('; ');
  // Healthy but without its totals: the lag and rates are unknown, which is worth a look.
  if (health.status === 200) return stats instanceof Error ? warn(PART.consumer, detail, data) : ok(PART.consumer, detail, data);
  if (body.state === 'RUNNING' || body.error) return fail(PART.consumer, `${detail}; error: ${body.error ?? 'unhealthy'}`, data);
  return warn(PART.consumer, detail, data);
}

export function consumerCheck(healthUrl: string, stats: () => Promise<ConsumerStats | Error>, published: () => number, now: () => Date): Check {
  return {
    parts: [PART.consumer],
    run: async (signal) => {
      const [health, s] = await Promise.all([httpTry(healthUrl, signal), stats()]);
      const lag = s instanceof Error ? undefined : estimateBacklog(published(), s.totals.accounted);
      return [consumerRow(healthUrl, health, s, lag, now())];
    },
  };
}
