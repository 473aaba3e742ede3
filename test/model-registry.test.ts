/**
 * The model registry and artifact store (lib/model/registry.ts, lib/model/store.ts) on DuckDB in
 * memory. Artifacts are opaque bytes here: the learner is tested on its own.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  currentModel, defaultVersionId, getModel, listModels, loadArtifact, ModelRegistryError, promote, promoteIfBetter,
  promotionHistory, registerModel, rollback,
} from '../lib/model/registry';
import { FileModelStore, ModelStoreError, sha256Hex } from '../lib/model/store';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { fakeModel } from './support/model-fixtures';

describe('model registry (DuckDB in memory)', function () {
  this.timeout(60_000);
  let wh: DuckDBWarehouse;
  let store: FileModelStore;
  const dir = tempDir();

  beforeEach(() => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    store = new FileModelStore(path.join(dir, `models-${Math.random().toString(36).slice(2)}`));
  });
  afterEach(async () => wh.close());
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('registers, lists and shows a version with every recorded field', async () => {
    const created = new Date('2026-11-24T21:05:09.000Z');
    const input = fakeModel('ignored', 100.5, { version: undefined, createdAt: created });
    const m = await registerModel(wh, store, input);
    const sha = sha256Hex(input.artifact);
    assert.equal(m.version, `rf-20261124-210509-${sha.slice(0, 8)}`);
    assert.equal(m.version, defaultVersionId(created, sha));
    assert.deepEqual(m, {
      version: m.version,
      createdAt: '2026-11-24T21:05:09.000Z',
      params: input.params,
      featureNames: input.featureNames,
      data: input.data,
      metrics: input.metrics,
      baselines: input.baselines,
      artifact: { path: path.join(store.dir, `${m.version}.rfm`), sha256: sha, bytes: input.artifact.length },
      status: 'registered',
      promotedAt: null,
      note: input.note,
    });
    assert.deepEqual(fs.readFileSync(m.artifact.path), input.artifact);
    assert.deepEqual(await loadArtifact(wh, store, m.version), input.artifact);
    assert.deepEqual(await getModel(wh, m.version), m);
    await registerModel(wh, store, fakeModel('rf-b', 90, { createdAt: new Date('2026-11-24T22:00:00Z') }));
    assert.deepEqual((await listModels(wh)).map((x) => x.version), ['rf-b', m.version], 'newest first');
    assert.equal(await currentModel(wh), undefined);
  });

  it('refuses a duplicate version, an unknown version, a bad version id and non-finite metrics', async () => {
    await registerModel(wh, store, fakeModel('rf-a', 100));
    await assert.rejects(registerModel(wh, store, fakeModel('rf-a', 90)), /model version rf-a is already registered/);
    await assert.rejects(getModel(wh, 'rf-nope'), (e: Error) => e instanceof ModelRegistryError && /unknown model version "rf-nope"/.test(e.message));
    await assert.rejects(registerModel(wh, store, fakeModel('../evil', 90)), /invalid model version/);
    await assert.rejects(registerModel(wh, store, fakeModel('rf-nan', Number.NaN)), /metrics.mse must be a finite number/);
    await assert.rejects(promote(wh, 'rf-nope'), /unknown model version/);
  });

  it('the gate: first promotes; better promotes; worse beyond tolerance is kept with a reason; worse within tolerance promotes', async () => {
    for (const [v, mae] of [['rf-1', 100], ['rf-2', 90], ['rf-3', 99], ['rf-4', 99]] as const) await registerModel(wh, store, fakeModel(v, mae));

    const first = await promoteIfBetter(wh, 'rf-1', { tolerance: 0 });
    assert.equal(first.promoted, true);
    assert.match(first.reason, /^first model/);
    assert.equal((await currentModel(wh))?.version, 'rf-1');

    const better = await promoteIfBetter(wh, 'rf-2', { tolerance: 0 });
    assert.deepEqual([better.promoted, better.previous], [true, 'rf-1']);
    assert.equal((await currentModel(wh))?.version, 'rf-2');

    const worse = await promoteIfBetter(wh, 'rf-3', { tolerance: 0.05 }); // limit 94.5 < 99
    assert.equal(worse.promoted, false);
    assert.equal(worse.reason, 'kept rf-2: holdout MAE 99 vs rf-2 MAE 90, tolerance 0.05 (limit 94.5000)');
    assert.equal((await currentModel(wh))?.version, 'rf-2');
    assert.equal((await getModel(wh, 'rf-3')).status, 'registered');

    const within = await promoteIfBetter(wh, 'rf-4', { tolerance: 0.1 }); // limit 99 >= 99
    assert.equal(within.promoted, true, within.reason);
    assert.equal((await currentModel(wh))?.version, 'rf-4');

    const statuses = Object.fromEntries((await listModels(wh)).map((m) => [m.version, m.status]));
    assert.deepEqual(statuses, { 'rf-1': 'registered', 'rf-2': 'registered', 'rf-3': 'registered', 'rf-4': 'promoted' });
    assert.deepEqual((await promotionHistory(wh)).map((p) => [p.seq, p.version, p.previousVersion, p.action]),
      [[1, 'rf-1', null, 'gate'], [2, 'rf-2', 'rf-1', 'gate'], [3, 'rf-4', 'rf-2', 'gate']]);
    assert.ok((await getModel(wh, 'rf-1')).promotedAt, 'history kept: rf-1 was promoted once');
    await assert.rejects(promoteIfBetter(wh, 'rf-3', { tolerance: -1 }), /tolerance must be a non-negative number/);
  });

  it('the gate refuses an artifact over the size limit, whatever its MAE, and says why', async () => {
    await registerModel(wh, store, fakeModel('rf-small', 100));
    await registerModel(wh, store, fakeModel('rf-huge', 50, { artifact: Buffer.alloc(2_500_000) }));
    const first = await promoteIfBetter(wh, 'rf-huge', { tolerance: 0, maxArtifactBytes: 2_000_000 });
    assert.deepEqual(first, { promoted: false, version: 'rf-huge', previous: undefined, reason: 'not promoted: artifact 2.5 MB exceeds the limit of 2.0 MB (MODEL_MAX_ARTIFACT_MB)' });
    assert.equal(await currentModel(wh), undefined);
    assert.equal((await promoteIfBetter(wh, 'rf-small', { tolerance: 0, maxArtifactBytes: 2_000_000 })).promoted, true);
    const kept = await promoteIfBetter(wh, 'rf-huge', { tolerance: 0, maxArtifactBytes: 2_000_000 });
    assert.equal(kept.reason, 'kept rf-small: artifact 2.5 MB exceeds the limit of 2.0 MB (MODEL_MAX_ARTIFACT_MB)');
    assert.equal((await currentModel(wh))?.version, 'rf-small');
    // At the limit exactly it is the MAE that decides.
    assert.equal((await promoteIfBetter(wh, 'rf-huge', { tolerance: 0, maxArtifactBytes: 2_500_000 })).promoted, true);
  });

  it('manual promote is unconditional; rollback walks back through promoted versions and retires the current', async () => {
    await assert.rejects(rollback(wh), /nothing to roll back: no model is promoted/);
    for (const [v, mae] of [['rf-a', 100], ['rf-b', 90], ['rf-c', 500]] as const) await registerModel(wh, store, fakeModel(v, mae));
    await promote(wh, 'rf-a');
    await assert.rejects(rollback(wh), /cannot roll back rf-a: no earlier promoted version/);
    await promote(wh, 'rf-b');
    const manual = await promote(wh, 'rf-c'); // much worse, still promoted: manual override
    assert.deepEqual([manual.promoted, manual.previous], [true, 'rf-b']);
    assert.equal((await promote(wh, 'rf-c')).promoted, false, 'already promoted: no-op');

    assert.deepEqual(await rollback(wh), { version: 'rf-b', retired: 'rf-c' });
    assert.equal((await currentModel(wh))?.version, 'rf-b');
    assert.deepEqual(await rollback(wh), { version: 'rf-a', retired: 'rf-b' });
    const statuses = Object.fromEntries((await listModels(wh)).map((m) => [m.version, m.status]));
    assert.deepEqual(statuses, { 'rf-a': 'promoted', 'rf-b': 'retired', 'rf-c': 'retired' });
    await assert.rejects(rollback(wh), /cannot roll back rf-a/);
    assert.deepEqual((await promotionHistory(wh)).map((p) => p.action), ['manual', 'manual', 'manual', 'rollback', 'rollback']);
  });

  it('exactly one promoted version after any sequence of promotions', async () => {
    for (const v of ['rf-x', 'rf-y', 'rf-z']) await registerModel(wh, store, fakeModel(v, 10));
    for (const v of ['rf-x', 'rf-y', 'rf-z', 'rf-x']) {
      await promote(wh, v);
      const [{ n }] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM model_versions WHERE status = 'promoted'`);
      assert.equal(n, 1);
      assert.equal((await currentModel(wh))?.version, v);
    }
  });
});

describe('model store (files)', () => {
  const dir = tempDir();
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes <version>.rfm atomically with its SHA-256 and reads it back', async () => {
    const store = new FileModelStore(path.join(dir, 'a', 'models'));
    const bytes = Buffer.from([0, 1, 2, 3, 255]);
    const put = await store.put('rf-1', bytes);
    assert.deepEqual(put, { path: path.join(dir, 'a', 'models', 'rf-1.rfm'), sha256: sha256Hex(bytes), bytes: 5 });
    assert.deepEqual(await store.get('rf-1'), bytes);
    assert.deepEqual(await store.get('rf-1', put.sha256), bytes);
    assert.deepEqual(fs.readdirSync(path.dirname(put.path)).sort(), ['rf-1.rfm', 'rf-1.rfm.sha256'], 'no temp files left');
  });

  it('a changed artifact or a wrong expected SHA-256 is a clear error; a missing one too', async () => {
    const store = new FileModelStore(path.join(dir, 'b'));
    const put = await store.put('rf-2', Buffer.from('original'));
    fs.writeFileSync(put.path, 'tampered');
    await assert.rejects(store.get('rf-2'), (e: Error) => e instanceof ModelStoreError && /rf-2\.rfm is corrupt: SHA-256 [0-9a-f]{64} does not match the recorded [0-9a-f]{64}/.test(e.message));
    await assert.rejects(store.get('rf-2', put.sha256), /is corrupt/);
    await assert.rejects(store.get('rf-none'), /model artifact not found: .*rf-none\.rfm/);
  });

  it('the registry checks the artifact against its own record', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      const store = new FileModelStore(path.join(dir, 'c'));
      const m = await registerModel(wh, store, fakeModel('rf-3', 1));
      fs.writeFileSync(m.artifact.path, 'swapped');
      fs.writeFileSync(`${m.artifact.path}.sha256`, `${sha256Hex(Buffer.from('swapped'))}  rf-3.rfm\n`);
      await assert.doesNotReject(store.get('rf-3'), 'the sidecar alone was forged consistently');
      await assert.rejects(loadArtifact(wh, store, 'rf-3'), /rf-3\.rfm is corrupt/);
    } finally {
      await wh.close();
    }
  });
});

describe('model registry on the BigQuery emulator @integration', function () {
  this.timeout(120_000);
  const dir = tempDir();
  let wh: import('../lib/warehouse/types').Warehouse | undefined;
  after(async () => {
    await wh?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('register, gate, manual promote and rollback keep exactly one promoted version', async function () {
    const host = process.env.BIGQUERY_EMULATOR_HOST;
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none' || !host) this.skip();
    const { createBigQueryWarehouse } = await import('../lib/warehouse/bigquery');
    wh = await createBigQueryWarehouse({ projectId: 'retailflow-test', dataset: `registry_${Date.now()}`, location: 'US', emulatorHost: host });
    const store = new FileModelStore(path.join(dir, 'models'));
    const m = await registerModel(wh, store, fakeModel('rf-1', 100, { createdAt: new Date('2026-11-24T10:00:00Z') }));
    assert.deepEqual(await getModel(wh, 'rf-1'), m);
    await registerModel(wh, store, fakeModel('rf-2', 90));
    await registerModel(wh, store, fakeModel('rf-3', 200));
    assert.equal((await promoteIfBetter(wh, 'rf-1', { tolerance: 0 })).promoted, true);
    assert.equal((await promoteIfBetter(wh, 'rf-2', { tolerance: 0 })).promoted, true);
    assert.equal((await promoteIfBetter(wh, 'rf-3', { tolerance: 0 })).promoted, false);
    await promote(wh, 'rf-3');
    assert.deepEqual(await rollback(wh), { version: 'rf-2', retired: 'rf-3' });
    const statuses = Object.fromEntries((await listModels(wh)).map((x) => [x.version, x.status]));
    assert.deepEqual(statuses, { 'rf-1': 'registered', 'rf-2': 'promoted', 'rf-3': 'retired' });
    assert.deepEqual((await promotionHistory(wh)).map((p) => [p.version, p.action]), [['rf-1', 'gate'], ['rf-2', 'gate'], ['rf-3', 'manual'], ['rf-2', 'rollback']]);
    assert.equal(m.createdAt, '2026-11-24T10:00:00.000Z');
  });
});
