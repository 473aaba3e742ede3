/** The API app through `inject()`, with in-memory fakes for the warehouse and Temporal: no servers. */
import * as assert from 'node:assert/strict';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Client } from '@temporalio/client';
import { buildApp, type App } from '../api/app';
import { loadConfig } from '../lib/config';
import type { Row, Warehouse } from '../lib/warehouse/types';
import { fakeTemporal } from './support/fakes';

/** A warehouse whose `query` does what the test says; everything else is unused here. */
class FakeWarehouse implements Warehouse {
  readonly backend = 'duckdb' as const;
  closed = false;
  constructor(public onQuery: () => Promise<Row[]> = async () => [{ ok: 1 }]) {}
  async ensureSchema(): Promise<void> {}
  async bulkLoad(): Promise<number> {
    return 0;
  }
  async insertRows(): Promise<number> {
    return 0;
  }
  async insertNew(): Promise<void> {}
  async upsert(): Promise<number> {
    return 0;
  }
  async query<T extends Row = Row>(): Promise<T[]> {
    return (await this.onQuery()) as T[];
  }
  async execute(): Promise<number> {
    return 0;
  }
  async atomically<T>(work: () => Promise<T>): Promise<T> {
    return work();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

interface Harness {
  app: App;
  warehouse: FakeWarehouse;
  logLines: string[];
}

/** buildApp with fakes plus a few test-only routes, logging into an array. */
async function harness(options: { warehouse?: FakeWarehouse; temporal?: Client; healthCheckTimeoutMs?: number } = {}): Promise<Harness> {
  const warehouse = options.warehouse ?? new FakeWarehouse();
  const logLines: string[] = [];
  const app = buildApp({
    config: loadConfig(),
    logger: { level: 'error', stream: { write: (line: string) => logLines.push(line) } },
    warehouse,
    temporal: options.temporal ?? fakeTemporal(),
    healthCheckTimeoutMs: options.healthCheckTimeoutMs,
  });
  const testRoutes: FastifyPluginAsyncTypebox = async (routes) => {
    routes.get('/test/items/:id', async () => ({ ok: true }));
    routes.get('/test/boom', async () => {
      throw new Error('connection string postgres://secret@db');
    });
    routes.get('/test/conflict', async () => {
      throw Object.assign(new Error('already running'), { statusCode: 409 });
    });
    routes.post(
      '/test/echo',
      { schema: { tags: ['test'], body: Type.Object({ count: Type.Integer() }), response: { 200: Type.Object({ count: Type.Integer() }) } } },
      async (request) => ({ count: request.body.count }),
    );
  };
  app.register(testRoutes);
  await app.ready();
  return { app, warehouse, logLines };
}

describe('API app', () => {
  let current: Harness | undefined;
  const start = async (...args: Parameters<typeof harness>): Promise<Harness> => (current = await harness(...args));

  afterEach(async () => {
    await current?.app.close();
    current = undefined;
  });

  describe('GET /health', () => {
    it('is healthy with a check per dependency', async () => {
      const { app } = await start();
      const response = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.status, 'healthy');
      assert.equal(body.checks.warehouse.ok, true);
      assert.equal(body.checks.warehouse.backend, 'duckdb');
      assert.equal(typeof body.checks.warehouse.latencyMs, 'number');
      assert.equal(body.checks.temporal.ok, true);
      assert.equal(body.checks.temporal.namespace, 'test-namespace');
    });

    it('is degraded (still 200) with the reason when the warehouse fails', async () => {
      const warehouse = new FakeWarehouse(async () => {
        throw new Error('cannot open DuckDB warehouse: lock held');
      });
      const { app } = await start({ warehouse });
      const response = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.status, 'degraded');
      assert.equal(body.checks.warehouse.ok, false);
      assert.match(body.checks.warehouse.error, /lock held/);
      assert.equal(body.checks.temporal.ok, true);
    });

    it('bounds a dependency that never answers by the check timeout', async () => {
      const { app } = await start({ temporal: fakeTemporal(() => new Promise(() => undefined)), healthCheckTimeoutMs: 100 });
      const began = Date.now();
      const body = (await app.inject({ method: 'GET', url: '/health' })).json();
      assert.ok(Date.now() - began < 2_000, 'health must not hang');
      assert.equal(body.status, 'degraded');
      assert.equal(body.checks.temporal.ok, false);
      assert.match(body.checks.temporal.error, /no answer within 100 ms/);
    });
  });

  describe('GET /metrics', () => {
    it('has Node default metrics and the request histogram labelled by route pattern', async () => {
      const { app } = await start();
      await app.inject({ method: 'GET', url: '/health' });
      await app.inject({ method: 'GET', url: '/test/items/42' });
      await app.inject({ method: 'GET', url: '/no/such/route' });
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(response.statusCode, 200);
      assert.match(response.headers['content-type'] as string, /^text\/plain/);
      const text = response.body;
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
      assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} 1$/m);
      assert.match(text, /route="\/test\/items\/:id",status_code="200"/);
      assert.doesNotMatch(text, /\/test\/items\/42/);
      assert.match(text, /route="\(unmatched\)",status_code="404"/);
    });
  });

  describe('errors', () => {
    it('answers unknown routes with a JSON 404', async () => {
      const { app } = await start();
      const response = await app.inject({ method: 'GET', url: '/nope' });
      assert.equal(response.statusCode, 404);
      assert.match(response.headers['content-type'] as string, /^application\/json/);
      assert.deepEqual(response.json(), { message: 'Route GET /nope not found' });
    });

    it('masks an internal error as a 500 and logs the real one', async () => {
      const { app, logLines } = await start();
      const response = await app.inject({ method: 'GET', url: '/test/boom' });
      assert.equal(response.statusCode, 500);
      assert.deepEqual(response.json(), { message: 'Internal Server Error' });
      assert.ok(logLines.some((line) => line.includes('postgres://secret@db') && line.includes('/test/boom')));
    });

    it('passes a deliberate 4xx through with its message', async () => {
      const { app } = await start();
      const response = await app.inject({ method: 'GET', url: '/test/conflict' });
      assert.equal(response.statusCode, 409);
      assert.deepEqual(response.json(), { message: 'already running' });
    });

    it('answers an invalid JSON body with 400', async () => {
      const { app } = await start();
      const response = await app.inject({
        method: 'POST',
        url: '/test/echo',
        headers: { 'content-type': 'application/json' },
        payload: '{"count": 1,',
      });
      assert.equal(response.statusCode, 400);
      assert.match(response.json().message, /JSON/i);
    });

    it('validates bodies strictly: no type coercion', async () => {
      const { app } = await start();
      const ok = await app.inject({ method: 'POST', url: '/test/echo', payload: { count: 5 } });
      assert.deepEqual(ok.json(), { count: 5 });
      const coerced = await app.inject({ method: 'POST', url: '/test/echo', payload: { count: '5' } });
      assert.equal(coerced.statusCode, 400);
      assert.match(coerced.json().message, /body\.count must be integer/);
    });
  });

  describe('docs and lifecycle', () => {
    it('serves the OpenAPI document with the tagged routes, and the UI', async () => {
      const { app } = await start();
      const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
      assert.ok(spec.paths['/health'], 'health is documented');
      assert.ok(spec.paths['/test/echo'], 'routes registered after buildApp are documented');
      assert.equal(spec.paths['/test/boom'], undefined, 'untagged routes are hidden');
      const ui = await app.inject({ method: 'GET', url: '/docs/' });
      assert.equal(ui.statusCode, 200);
      assert.match(ui.body, /<html/i);
    });

    it('closes its own Temporal connection cleanly while a health check to an unreachable server is still retrying', async () => {
      const config = { ...loadConfig(), temporal: { ...loadConfig().temporal, address: '127.0.0.1:1' } };
      const app = buildApp({ config, logger: false, warehouse: new FakeWarehouse(), healthCheckTimeoutMs: 200 });
      await app.ready();
      const body = (await app.inject({ method: 'GET', url: '/health' })).json();
      assert.equal(body.checks.temporal.ok, false);
      assert.match(body.checks.temporal.error, /no answer within 200 ms/);
      await app.close();
      // Before the fix the client's retry timer fired here on the closed channel and threw
      // "Channel has been shut down" as an uncaught exception, which mocha reports as a failure.
      await new Promise((r) => setTimeout(r, 1_500));
    });

    it('does not close injected dependencies', async () => {
      const { app, warehouse } = await start();
      await app.close();
      current = undefined;
      assert.equal(warehouse.closed, false);
    });
  });
});
