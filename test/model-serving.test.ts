/** The consumer scores stream lines with the promoted model, through the same code path as /predict. */
import * as assert from 'node:assert/strict';
import { lineToPredictionInput, featureVector, ServingModel } from '../lib/model/serving';
import { promote, registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { servingModelScorer } from '../lib/stream/scoring';
import type { ValidLine } from '../lib/stream/message';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeModel, smallForest } from './support/model-fixtures';

const LINE: ValidLine = {
  eventId: 'e1', eventIdSource: 'message', invoiceNo: '581587', stockCode: '22613', description: 'PACK OF 20 SPACEBOY NAPKINS',
  quantity: 12, invoiceTs: '2011-12-09T12:50:00.000Z', invoiceDate: '2011-12-09', unitPrice: '0.85', customerId: 12680,
  country: 'France', isCancellation: false, lineValue: '10.2', sourceSha256: null, sourceLineNo: null,
};

describe('stream scoring with the promoted model', () => {
  it('derives the /predict features from a stored line: Friday 12:50 is Hour 12, DayOfWeek 4', () => {
    assert.deepEqual(lineToPredictionInput(LINE), { Quantity: 12, UnitPrice: 0.85, Hour: 12, DayOfWeek: 4, Country: 'France', CustomerID: 12680 });
  });

  it('scores NULL without a model, then with the promoted version and the same numbers as predictOne', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    const store = new FileModelStore(tempDir());
    const serving = new ServingModel(wh, store);
    const scorer = servingModelScorer(serving);
    await serving.refresh();
    assert.equal(scorer.status().status, 'no-model');
    assert.deepEqual(await scorer.scoreLines([LINE]), { modelVersion: null, predictions: [null] });

    await registerModel(wh, store, fakeModel('rf-stream', 3, { artifact: await smallForest(3, 10) }));
    await promote(wh, 'rf-stream');
    await serving.refresh();
    assert.deepEqual(scorer.status(), { status: 'ready', modelVersion: 'rf-stream' });
    const scores = await scorer.scoreLines([LINE, { ...LINE, quantity: 1 }]);
    const model = serving.current()!.model;
    assert.equal(scores.modelVersion, 'rf-stream');
    assert.equal(scores.predictions[0], model.predictOne(featureVector(model, lineToPredictionInput(LINE))).toFixed(2));
    assert.notEqual(scores.predictions[0], scores.predictions[1]);
    await wh.close();
  });

  it('reports a failed reload, keeps serving, and clears the error at the next check that gets through', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    const store = new FileModelStore(tempDir());
    await registerModel(wh, store, fakeModel('rf-kept', 3, { artifact: await smallForest(3, 10) }));
    await promote(wh, 'rf-kept');
    let failNext = false;
    const flaky = new Proxy(wh, {
      get(target, prop, receiver) {
        if (prop === 'query' && failNext) {
          failNext = false;
          return async () => { throw new Error('Could not set lock on file "warehouse.duckdb"'); };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const serving = new ServingModel(flaky, store);
    await serving.refresh();
    assert.equal(serving.current()?.version, 'rf-kept');
    failNext = true;
    await serving.refresh();
    assert.match(serving.lastError ?? '', /Could not set lock/);
    assert.equal(serving.current()?.version, 'rf-kept');
    await serving.refresh();
    assert.equal(serving.lastError, undefined);
    await wh.close();
  });
});
