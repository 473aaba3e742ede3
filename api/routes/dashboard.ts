/**
 * The dashboard: one static page at /dashboard (api/dashboard/: plain HTML, JS and CSS, ECharts
 * from node_modules) and the JSON endpoints it reads under /api/v1/, tagged "dashboard" in the
 * OpenAPI document. Each endpoint is a read of the warehouse port (lib/dashboard/queries.ts), so it
 * answers the same on DuckDB and BigQuery. Dates are checked with lib/dates.ts: a non-date, an
 * impossible day (2011-02-30) or from > to is a 400 that names the field, never a 500.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { uiLink } from '../../clients/connection';
import type { Config } from '../../lib/config';
import { DashboardCache, type DashboardCacheOptions } from '../../lib/dashboard/cache';
import * as q from '../../lib/dashboard/queries';
import { isIsoDate, zonedDateOf } from '../../lib/dates';
import { PROJECT_ROOT } from '../../lib/paths';
import { WorkflowType } from '../../lib/temporal/contract';
import {
  CountriesResponse, DateParams, KpisResponse, LimitedRangeQuery, LimitQuery, ModelsResponse, PredictionsResponse,
  ProductsResponse, QualityDayResponse, QualityResponse, RangeQuery, RangeResponse, StreamResponse,
} from '../schemas/dashboard';

export interface DashboardRoutesOptions {
  config: Config;
  /** The shop's today; default the wall clock in SHOP_TIMEZONE (tests pin it). */
  today?: () => string;
  /** Answers kept until the data changes (lib/dashboard/cache.ts). */
  cache?: DashboardCacheOptions;
}

/** The committed static files: next to this file's folder from source, or in the repository from dist/. */
export function dashboardDir(): string {
  const candidates = [path.resolve(__dirname, '../dashboard'), path.join(PROJECT_ROOT, 'api', 'dashboard')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0];
}

const ECHARTS_FILE = require.resolve('echarts/dist/echarts.min.js');

/** A deliberate 400: the error handler sends its message. */
function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

function checkDate(value: string | undefined, field: string): void {
  if (value !== undefined && !isIsoDate(value)) throw badRequest(`querystring.${field} must be a calendar date YYYY-MM-DD, got "${value}"`);
}

function parseLimit(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw badRequest(`querystring.limit must be an integer from 1 to 100, got "${value}"`);
  return n;
}

/**
 * The range asked for, with the analysed range filling what is missing. Both ends given: from must
 * not be after to. One end given: the other defaults to the analysed range, never before it.
 */
async function resolveRange(analysed: () => Promise<q.AnalysedRange>, query: { from?: string; to?: string }, today: string): Promise<q.DateRange> {
  checkDate(query.from, 'from');
  checkDate(query.to, 'to');
  if (query.from !== undefined && query.to !== undefined) {
    if (query.from > query.to) throw badRequest(`querystring.from (${query.from}) is after querystring.to (${query.to})`);
    return { from: query.from, to: query.to };
  }
  const { first, last } = await analysed();
  const from = query.from ?? first ?? query.to ?? today;
  const toDefault = last ?? from;
  const to = query.to ?? (toDefault < from ? from : toDefault);
  return from <= to ? { from, to } : { from: to, to };
}

const errors = { 400: { $ref: 'ErrorResponse#' } };

const dashboardRoutes: FastifyPluginAsyncTypebox<DashboardRoutesOptions> = async (fastify, { config, today: todayOption, cache: cacheOptions }) => {
  const today = todayOption ?? (() => zonedDateOf(new Date(), config.shop.timeZone));
  const uiBase = `http://${config.temporal.uiHost}:${config.temporal.uiPort}`;
  const links: q.DashboardLinks = {
    workflow: (workflowId) => uiLink(config, workflowId),
    trainingRunsAt: (createdAt) => {
      const query = `WorkflowType="${WorkflowType.training}" AND StartTime <= "${createdAt}" AND CloseTime >= "${createdAt}"`;
      return `${uiBase}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;
    },
  };

  // ---- the page ----
  await fastify.register(fastifyStatic, { root: dashboardDir(), prefix: '/dashboard/', wildcard: false, index: ['index.html'], cacheControl: false });
  fastify.get('/dashboard', async (_request, reply) => reply.sendFile('index.html'));
  fastify.get('/dashboard/vendor/echarts.min.js', async (_request, reply) =>
    reply.sendFile(path.basename(ECHARTS_FILE), path.dirname(ECHARTS_FILE), { maxAge: 3_600_000 }));

  // ---- the data ----
  const wh = () => fastify.warehouse;
  const tags = ['dashboard'];
  const cache = new DashboardCache(fastify.warehouse, cacheOptions);
  // Check the tables once while the API starts, not in the first visitor's load (not awaited: a
  // warehouse busy or down does not hold the API up; the first ask then tries again).
  fastify.addHook('onReady', async () => {
    q.ensureDashboardSchema(wh()).catch((err: unknown) => fastify.log.warn({ err }, 'dashboard: warehouse tables not checked at start'));
  });
  const analysed = () => cache.get('range', () => q.analysedRange(wh()));
  const range = (query: { from?: string; to?: string }) => resolveRange(analysed, query, today());
  const key = (name: string, r: q.DateRange, ...more: Array<string | number>) => [name, r.from, r.to, ...more].join(':');

  fastify.get('/api/v1/range', {
    schema: { tags, summary: 'The analysed days (daily_metrics), the shop\'s today and the Web UI base', response: { 200: RangeResponse } },
  }, async () => ({ ...(await analysed()), today: today(), time_zone: config.shop.timeZone, temporal_ui: uiBase }));

  fastify.get('/api/v1/kpis', {
    schema: {
      tags, summary: 'Daily KPIs of a range, their totals, and tiles for the newest day, the day before and the last 7 days vs the 7 before',
      querystring: RangeQuery, response: { 200: KpisResponse, ...errors },
    },
  }, async (request) => {
    const r = await range(request.query);
    return cache.get(key('kpis', r, today()), () => q.kpis(wh(), r, today(), links));
  });

  fastify.get('/api/v1/countries', {
    schema: { tags, summary: 'Gross revenue by country over a range: the top 10 and "Other"', querystring: RangeQuery, response: { 200: CountriesResponse, ...errors } },
  }, async (request) => {
    const r = await range(request.query);
    return cache.get(key('countries', r), () => q.countries(wh(), r));
  });

  fastify.get('/api/v1/products', {
    schema: { tags, summary: 'Top products by gross revenue over a range', querystring: LimitedRangeQuery, response: { 200: ProductsResponse, ...errors } },
  }, async (request) => {
    const limit = parseLimit(request.query.limit, 10);
    const r = await range(request.query);
    return cache.get(key('products', r, limit), () => q.products(wh(), r, limit));
  });

  fastify.get('/api/v1/predictions', {
    schema: { tags, summary: 'Predicted vs actual revenue per day, the model version that scored it, and the MAE', querystring: RangeQuery, response: { 200: PredictionsResponse, ...errors } },
  }, async (request) => {
    const r = await range(request.query);
    return cache.get(key('predictions', r), () => q.predictions(wh(), r, links));
  });

  fastify.get('/api/v1/quality', {
    schema: { tags, summary: 'Data-quality results as a day x check grid', querystring: RangeQuery, response: { 200: QualityResponse, ...errors } },
  }, async (request) => {
    const r = await range(request.query);
    return cache.get(key('quality', r), () => q.qualityGrid(wh(), r, links));
  });

  fastify.get('/api/v1/quality/:date', {
    schema: {
      tags, summary: "One day's data-quality results with their details (404: the day was not checked)", params: DateParams,
      response: { 200: QualityDayResponse, 404: { $ref: 'ErrorResponse#' }, ...errors },
    },
  }, async (request, reply) => {
    const { date } = request.params;
    if (!isIsoDate(date)) throw badRequest(`params.date must be a calendar date YYYY-MM-DD, got "${date}"`);
    const answer = await cache.get(`quality-day:${date}`, () => q.qualityDay(wh(), date, links));
    if (answer.results.length === 0) return reply.code(404).send({ message: `no data-quality results for ${date}: run "retailflow dq run --date ${date}"` });
    return answer;
  });

  fastify.get('/api/v1/models', {
    schema: { tags, summary: 'Model versions with their holdout MAE, and every promotion and rollback', response: { 200: ModelsResponse } },
  }, async () => cache.get('models', () => q.models(wh(), links)));

  fastify.get('/api/v1/stream', {
    schema: { tags, summary: 'Stream accounting (stored, duplicate, dead-lettered) and the latest high-value lines', querystring: LimitQuery, response: { 200: StreamResponse, ...errors } },
  }, async (request) => {
    const limit = parseLimit(request.query.limit, 20);
    return cache.get(`stream:${limit}`, () => q.stream(wh(), limit, links));
  });
};

export default dashboardRoutes;
