/**
 * /predict, /predict/batch and /models/current with a real (small) forest from the registry:
 * the seed's request and response shape, every bad-input class, 503 without a model, hot reload.
 */
import * as assert from 'node:assert/strict';
import { buildApp, type App } from '../api/app';
import { BATCH_BODY_LIMIT, MAX_BATCH } from '../api/routes/predict';
import { loadConfig } from '../lib/config';
import { promote, registerModel } from '../lib/model/registry';
import { featureVector } from '../lib/model/serving';
import { FileModelStore } from '../lib/model/store';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeTemporal } from './support/fakes';
import { fakeModel, smallForest } from './support/model-fixtures';

describe('prediction API', function () {
  this.timeout(60_000);
  const storeDir = tempDir();
  let wh: DuckDBWarehouse;
  let app: App;
  const config = { ...loadConfig(), model: { ...loadConfig().model, storeDir, reloadIntervalMs: 0 } };

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } });

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    app = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await wh.close();
  });

  it('answers 503 with a clear message while no model is promoted', async () => {
    const res = await post('/predict', { Quantity: 3, UnitPrice: 12.0, Hour: 10, DayOfWeek: 2 });
    assert.equal(res.statusCode, 503);
    assert.match(res.json().message, /no promoted revenue model yet/);
    assert.equal((await app.inject({ method: 'GET', url: '/models/current' })).statusCode, 503);
  });

  it('serves the seed request with the seed response shape once a model is promoted', async () => {
    const store = new FileModelStore(storeDir);
    await registerModel(wh, store, fakeModel('rf-a', 10, { artifact: await smallForest(1, 10) }));
    await promote(wh, 'rf-a');
    await app.servingModel.refresh();
    const res = await post('/predict', { Quantity: 3, UnitPrice: 12.0, Hour: 10, DayOfWeek: 2 });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['model_version', 'predicted_revenue', 'status']);
    assert.equal(body.status, 'success');
    assert.equal(body.model_version, 'rf-a');
    assert.ok(body.predicted_revenue > 100 && body.predicted_revenue < 2_000, String(body.predicted_revenue));
    assert.equal((await app.inject({ method: 'GET', url: '/models/current' })).json().version, 'rf-a');
    const health = (await app.inject({ method: 'GET', url: '/health' })).json();
    assert.equal(health.model.loaded, true);
    assert.equal(health.model.version, 'rf-a');
  });

  it('predicts a batch with the same numbers as single calls', async () => {
    const items = [{ Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, { Quantity: 10, UnitPrice: 1.5, Hour: 9, DayOfWeek: 0, Country: 'France', CustomerID: null }];
    const batch = await post('/predict/batch', { items });
    assert.equal(batch.statusCode, 200, batch.body);
    const singles = await Promise.all(items.map(async (i) => (await post('/predict', i)).json().predicted_revenue));
    assert.deepEqual(batch.json().predictions, singles);
    assert.equal(batch.json().count, 2);
  });

  it('serves from the compiled threshold grid with exactly the numbers of walking the trees', async () => {
    const loaded = app.servingModel.current();
    assert.ok(loaded?.model.compiled, 'the served model is compiled at load');
    const items = Array.from({ length: 1000 }, (_, i) => ({
      Quantity: 1 + ((i * 7) % 50), UnitPrice: ((i * 13) % 400) / 20, Hour: i % 24, DayOfWeek: i % 7,
      ...(i % 3 === 0 ? { Country: 'France', CustomerID: null } : {}),
    }));
    const batch = await post('/predict/batch', { items });
    assert.equal(batch.statusCode, 200, batch.body);
    const walked = items.map((item) => Math.round(loaded!.model.walkOne(featureVector(loaded!.model, item)) * 100) / 100);
    assert.deepEqual(batch.json().predictions, walked);
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['a missing field', { Quantity: 3, UnitPrice: 12, Hour: 10 }, 400, /missing the field "DayOfWeek"/],
    ['an extra field', { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2, Discount: 1 }, 400, /unknown field "Discount"/],
    ['a wrongly typed field', { Quantity: '3', UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, 400, /Quantity must be integer/],
    ['Hour out of range', { Quantity: 3, UnitPrice: 12, Hour: 24, DayOfWeek: 2 }, 400, /Hour must be <= 23/],
    ['DayOfWeek out of range', { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 7 }, 400, /DayOfWeek must be <= 6/],
    ['a negative number', { Quantity: -3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, 400, /Quantity must be >= 1/],
    ['a fractional quantity', { Quantity: 2.5, UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, 400, /Quantity must be integer/],
    ['a zero quantity', { Quantity: 0, UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, 400, /Quantity must be >= 1/],
    ['an absurd quantity', { Quantity: 100_001, UnitPrice: 12, Hour: 10, DayOfWeek: 2 }, 400, /Quantity must be <= 100000/],
    ['an absurd price', { Quantity: 3, UnitPrice: 100_000.01, Hour: 10, DayOfWeek: 2 }, 400, /UnitPrice must be <= 100000/],
    ['a fractional hour', { Quantity: 3, UnitPrice: 12, Hour: 10.5, DayOfWeek: 2 }, 400, /Hour must be integer/],
    ['invalid JSON', '{"Quantity": 3,', 400, /JSON/i],
  ];
  for (const [what, payload, status, message] of bad) {
    it(`rejects ${what} with ${status} and a message naming the problem`, async () => {
      const res = await post('/predict', payload);
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.json().message, message);
    });
  }

  it('rejects a wrong content type, an oversized body and a batch over the limit, never with a 500', async () => {
    const xml = await app.inject({ method: 'POST', url: '/predict', payload: '<Quantity>3</Quantity>', headers: { 'content-type': 'application/xml' } });
    assert.equal(xml.statusCode, 415);
    assert.match(xml.json().message, /Unsupported Media Type/i);
    const text = await app.inject({ method: 'POST', url: '/predict', payload: 'Quantity=3', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.statusCode, 400);
    assert.match(text.json().message, /body must be object/);
    const huge = await post('/predict', { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2, Country: 'x'.repeat(2_000_000) });
    assert.equal(huge.statusCode, 413);
    const items = Array.from({ length: 10_001 }, () => ({ Quantity: 1, UnitPrice: 1, Hour: 1, DayOfWeek: 1 }));
    const over = await post('/predict/batch', { items });
    assert.equal(over.statusCode, 400, over.body.slice(0, 200));
    assert.match(over.json().message, /must NOT have more than 10000 items/);
    const hugeBatch = await post('/predict/batch', { items: [{ Quantity: 1, UnitPrice: 1, Hour: 1, DayOfWeek: 1, Country: 'x'.repeat(BATCH_BODY_LIMIT) }] });
    assert.equal(hugeBatch.statusCode, 413);
  });

  it('accepts a full batch of long, realistic items even though it is over the API-wide body limit', async () => {
    const item = { Quantity: 99_999, UnitPrice: 99999.99, Hour: 23, DayOfWeek: 6, Country: 'European Community'.padEnd(64, '.'), CustomerID: 999_999_999_999 };
    const body = JSON.stringify({ items: Array.from({ length: MAX_BATCH }, () => item) }, null, 1);
    assert.ok(body.length > config.api.bodyLimit, `${body.length} bytes`);
    const res = await post('/predict/batch', body);
    assert.equal(res.statusCode, 200, res.body.slice(0, 200));
    assert.equal(res.json().count, MAX_BATCH);
  });

  it('hot-reloads a newly promoted version with no restart and no failed request', async () => {
    const store = new FileModelStore(storeDir);
    await registerModel(wh, store, fakeModel('rf-b', 5, { artifact: await smallForest(2, 20) }));
    const reloading = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 200 });
    await reloading.ready();
    try {
      const statuses = new Set<number>();
      const versions = new Set<string>();
      await promote(wh, 'rf-b');
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && !versions.has('rf-b')) {
        const res = await reloading.inject({ method: 'POST', url: '/predict', payload: { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 } });
        statuses.add(res.statusCode);
        versions.add(res.json().model_version);
      }
      assert.deepEqual([...statuses], [200]);
      assert.ok(versions.has('rf-b'), `still serving ${[...versions]} after 5 s`);
      const metrics = (await reloading.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /model_loaded_info\{version="rf-b"\} 1/);
      assert.match(metrics, /predictions_total\{route="\/predict"\} \d+/);
    } finally {
      await reloading.close();
    }
  });
});
