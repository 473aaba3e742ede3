/**
 * One table of quantities and prices through the prediction API and the stream's validator
 * (lib/input-rules.ts): a sale line the consumer would refuse gets no prediction, and one it
 * stores gets one. Cancellations (negative quantities) are stream-only: a prediction is of a sale.
 */
import * as assert from 'node:assert/strict';
import { buildApp, type App } from '../api/app';
import { loadConfig } from '../lib/config';
import { MAX_ABS_QUANTITY, MAX_UNIT_PRICE } from '../lib/input-rules';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { validateMessage } from '../lib/stream/message';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeTemporal } from './support/fakes';
import { fakeModel, smallForest } from './support/model-fixtures';

interface Case { what: string; quantity: unknown; unitPrice: number; api: boolean; stream: boolean; field?: string }

const CASES: Case[] = [
  { what: 'a typical sale', quantity: 6, unitPrice: 2.55, api: true, stream: true },
  { what: 'the largest allowed quantity', quantity: MAX_ABS_QUANTITY, unitPrice: 1, api: true, stream: true },
  { what: 'the largest allowed price', quantity: 1, unitPrice: MAX_UNIT_PRICE, api: true, stream: true },
  { what: 'a fractional quantity', quantity: 2.5, unitPrice: 1, api: false, stream: false, field: 'Quantity' },
  { what: 'a zero quantity', quantity: 0, unitPrice: 1, api: false, stream: false, field: 'Quantity' },
  { what: 'a quantity over the bound', quantity: MAX_ABS_QUANTITY + 1, unitPrice: 1, api: false, stream: false, field: 'Quantity' },
  { what: 'a price over the bound', quantity: 1, unitPrice: MAX_UNIT_PRICE + 0.01, api: false, stream: false, field: 'UnitPrice' },
  { what: 'a quantity as text', quantity: '6', unitPrice: 1, api: false, stream: false, field: 'Quantity' },
  { what: 'a SQL fragment as quantity', quantity: "1; DROP TABLE orders_raw; --", unitPrice: 1, api: false, stream: false, field: 'Quantity' },
  { what: 'a cancellation (negative quantity)', quantity: -3, unitPrice: 1, api: false, stream: true, field: 'Quantity' },
];

function streamMessage(c: Case): Buffer {
  const cancelled = typeof c.quantity === 'number' && c.quantity < 0;
  return Buffer.from(JSON.stringify({
    event_id: 'evt-rules', InvoiceNo: cancelled ? 'C536379' : '536365', StockCode: '85123A', Description: 'WHITE HANGING HEART T-LIGHT HOLDER',
    Quantity: c.quantity, InvoiceDate: '2011-06-15T10:30:00', UnitPrice: c.unitPrice, CustomerID: 17850, Country: 'United Kingdom',
  }));
}

describe('input rules shared by the prediction API and the stream', function () {
  this.timeout(60_000);
  let wh: DuckDBWarehouse;
  let app: App;

  before(async () => {
    const storeDir = tempDir();
    const config = { ...loadConfig(), model: { ...loadConfig().model, storeDir, reloadIntervalMs: 0 } };
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await registerModel(wh, new FileModelStore(storeDir), fakeModel('rf-rules', 5, { artifact: await smallForest(1, 10) }));
    await promote(wh, 'rf-rules');
    app = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await wh.close();
  });

  for (const c of CASES) {
    it(`${c.what}: API ${c.api ? 'predicts' : 'refuses'}, stream ${c.stream ? 'accepts' : 'dead-letters'}`, async () => {
      const res = await app.inject({ method: 'POST', url: '/predict', payload: { Quantity: c.quantity, UnitPrice: c.unitPrice, Hour: 10, DayOfWeek: 2 } });
      assert.equal(res.statusCode, c.api ? 200 : 400, res.body);
      if (!c.api) assert.match(res.json().message, new RegExp(c.field ?? ''));
      const v = validateMessage(streamMessage(c));
      assert.equal(v.ok, c.stream, v.ok ? 'accepted' : v.reason);
      if (!v.ok) assert.match(v.reason, new RegExp(c.field ?? ''));
    });
  }
});
