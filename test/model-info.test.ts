/** docs/model_info.md's generated section: exact Markdown for a fixed registry, and the marker-bounded atomic rewrite. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatNumber, ModelInfoError, REGISTRY_BEGIN, REGISTRY_END, RegistrySnapshot, renderModelInfo, replaceRegistrySection, updateModelInfoFile,
} from '../lib/model/model-info';
import type { ModelStatus, ModelVersion, PromotionEntry, RegisterModelInput } from '../lib/model/registry';
import { PROJECT_ROOT } from '../lib/config';
import { tempDir } from './support/fixtures';
import { fakeModel } from './support/model-fixtures';

/** What the registry would return for `fakeModel(...)` once registered (fixed times, fake checksum). */
function registered(input: RegisterModelInput, status: ModelStatus, promotedAt: string | null, bytes = 26_012_345): ModelVersion {
  const version = input.version!;
  return {
    version,
    createdAt: input.createdAt!.toISOString(),
    params: input.params,
    featureNames: input.featureNames,
    data: input.data,
    metrics: input.metrics,
    baselines: input.baselines,
    artifact: { path: `/srv/retailflow/data/models/${version}.rfm`, sha256: version.slice(-8).repeat(8), bytes },
    status,
    promotedAt,
    note: input.note ?? null,
  };
}

const A = 'rf-20261124-100000-aaaaaaaa';
const B = 'rf-20261124-110000-bbbbbbbb';
const C = 'rf-20261124-120000-cccccccc';

function snapshot(): RegistrySnapshot {
  const at = (h: number) => new Date(`2026-11-24T${h}:00:00Z`);
  const models = [
    registered(fakeModel(C, 150, { createdAt: at(12), note: 'tried | leaf 1' }), 'retired', '2026-11-24T12:30:00.000Z', 93_323_264),
    registered(fakeModel(B, 90, { createdAt: at(11) }), 'registered', null),
    registered(fakeModel(A, 1450.1234, { createdAt: at(10) }), 'promoted', '2026-11-24T13:00:00.000Z'),
  ];
  const promotions: PromotionEntry[] = [
    { seq: 1, at: '2026-11-24T10:05:00.000Z', version: A, previousVersion: null, action: 'gate', reason: 'first model: promoted with holdout MAE 1450.1234' },
    { seq: 2, at: '2026-11-24T12:30:00.000Z', version: C, previousVersion: A, action: 'manual', reason: 'manual promotion' },
    { seq: 3, at: '2026-11-24T13:00:00.000Z', version: A, previousVersion: C, action: 'rollback', reason: `rolled back from ${C}` },
  ];
  return { models, promotions };
}

const EXPECTED = `<!-- Generated from the model registry (lib/model/model-info.ts); do not edit between the registry markers. -->

### Promoted version: \`${A}\`

| | |
|---|---|
| created | 2026-11-24T10:00:00.000Z |
| promoted | 2026-11-24T13:00:00.000Z |
| parameters | \`{"nTrees":50,"maxDepth":12,"minSamplesLeaf":5,"seed":42}\` |
| features | quantity, unit_price, hour, day_of_week, is_uk, customer_known |
| training split | 2010-12-01 … 2011-10-31, 421,624 rows |
| holdout split | 2011-11-01 … 2011-12-09, 108,480 rows |
| holdout MSE | 6,308,573.63 |
| holdout MAE | 1,450.12 |
| holdout R² | 0.4200 |
| baseline: line revenue | MSE 4,000,000.00, MAE 900.50 |
| baseline: training mean | MSE 3,500,000.00, MAE 800.25 |
| artifact | \`${A}.rfm\`, 26,012,345 bytes (26.0 MB) |
| artifact SHA-256 | \`${'aaaaaaaa'.repeat(8)}\` |
| note | test model ${A} |

### Versions (3, newest first)

| version | status | created | holdout MAE | holdout MSE | R² | line-revenue MAE | training-mean MAE | train rows | test rows | artifact |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|
| \`${C}\` | retired | 2026-11-24T12:00:00.000Z | 150.00 | 67,500.00 | 0.4200 | 900.50 | 800.25 | 421,624 | 108,480 | 93.3 MB |
| \`${B}\` | registered | 2026-11-24T11:00:00.000Z | 90.00 | 24,300.00 | 0.4200 | 900.50 | 800.25 | 421,624 | 108,480 | 26.0 MB |
| \`${A}\` | **promoted** | 2026-11-24T10:00:00.000Z | 1,450.12 | 6,308,573.63 | 0.4200 | 900.50 | 800.25 | 421,624 | 108,480 | 26.0 MB |

### Promotions (newest first)

| # | at | action | version | previous | reason |
|---:|---|---|---|---|---|
| 3 | 2026-11-24T13:00:00.000Z | rollback | \`${A}\` | \`${C}\` | rolled back from ${C} |
| 2 | 2026-11-24T12:30:00.000Z | manual | \`${C}\` | \`${A}\` | manual promotion |
| 1 | 2026-11-24T10:05:00.000Z | gate | \`${A}\` | - | first model: promoted with holdout MAE 1450.1234 |
`;

describe('model info document (docs/model_info.md registry section)', () => {
  it('renders the promoted version, every version newest first and the promotions, exactly', () => {
    assert.equal(renderModelInfo(snapshot()), EXPECTED);
    assert.equal(renderModelInfo(snapshot()), renderModelInfo(snapshot()), 'deterministic');
  });

  it('adds the latest gate decision when given, escaping table-breaking text', () => {
    const md = renderModelInfo({ ...snapshot(), gate: { promoted: false, version: B, previous: A, reason: `kept ${A}: holdout MAE 90 vs ${A} MAE 80` } });
    assert.ok(md.includes(`### Latest gate decision\n\n\`${B}\`: not promoted. kept ${A}: holdout MAE 90 vs ${A} MAE 80\n\n### Versions (3, newest first)`), md);
    const withPipe = renderModelInfo({ models: [{ ...snapshot().models[0], status: 'promoted' }], promotions: [] });
    assert.match(withPipe, /^\| note \| tried \\\| leaf 1 \|$/m);
    assert.ok(!withPipe.includes('### Promotions'), 'no promotions section without promotions');
  });

  it('bounds the versions and promotions it lists and says how many more there are', () => {
    const base = snapshot();
    const many: ModelVersion[] = Array.from({ length: 53 }, (_, i) => ({ ...base.models[1], version: `rf-v${String(53 - i).padStart(2, '0')}` }));
    const md = renderModelInfo({ models: many, promotions: [] }, { maxVersions: 50 });
    assert.match(md, /^### Versions \(53, newest first\)$/m);
    assert.equal((md.match(/^\| `rf-v\d\d` \|/gm) ?? []).length, 50);
    assert.ok(md.includes('| `rf-v53` |') && md.includes('| `rf-v04` |') && !md.includes('| `rf-v03` |'));
    assert.match(md, /^3 more older versions not listed: `retailflow models list` shows all\.$/m);
    assert.match(md, /^### Promoted version\n\nNo version is promoted yet\.$/m);
    const promos = renderModelInfo({ models: [], promotions: base.promotions }, { maxPromotions: 2 });
    assert.match(promos, /^1 earlier promotion not listed: /m);
    assert.match(promos, /^No model version is registered yet\.$/m);
  });

  it('formats numbers without locale data', () => {
    assert.deepEqual([formatNumber(0), formatNumber(999.999), formatNumber(-1234567.891, 1), formatNumber(-0.001), formatNumber(NaN)],
      ['0.00', '1,000.00', '-1,234,567.9', '0.00', 'NaN']);
  });

  describe('updateModelInfoFile', () => {
    const dir = tempDir();
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const prose = (inner: string) => `# Revenue model\n\nHand-written intro.\n\n${REGISTRY_BEGIN}\n${inner}${REGISTRY_END}\n\n## Learner\n\nMore prose.\n`;

    it('replaces only the text between the markers, atomically, and leaves an unchanged file alone', () => {
      const file = path.join(dir, 'model_info.md');
      fs.writeFileSync(file, prose('old generated text\n'));
      const first = updateModelInfoFile(file, EXPECTED);
      assert.deepEqual(first, { path: file, changed: true, created: false });
      assert.equal(fs.readFileSync(file, 'utf8'), prose(EXPECTED));
      const mtime = fs.statSync(file).mtimeMs;
      assert.deepEqual(updateModelInfoFile(file, EXPECTED), { path: file, changed: false, created: false });
      assert.equal(fs.statSync(file).mtimeMs, mtime);
      assert.deepEqual(fs.readdirSync(dir), ['model_info.md'], 'no temp file left behind');
    });

    it('creates a missing file holding just the section', () => {
      const file = path.join(dir, 'new', 'info.md');
      assert.equal(updateModelInfoFile(file, 'x\n').created, true);
      assert.equal(fs.readFileSync(file, 'utf8'), `${REGISTRY_BEGIN}\nx\n${REGISTRY_END}\n`);
    });

    it('fails clearly, and writes nothing, when the markers are missing, doubled or out of order', () => {
      const file = path.join(dir, 'hand-written.md');
      for (const doc of ['# Revenue model\n\nno markers\n', prose('a') + prose('b'), `${REGISTRY_END}\n${REGISTRY_BEGIN}\n`]) {
        fs.writeFileSync(file, doc);
        assert.throws(() => updateModelInfoFile(file, EXPECTED), (err: Error) => err instanceof ModelInfoError && /needs exactly one "<!-- registry:begin -->" followed by one "<!-- registry:end -->"/.test(err.message));
        assert.equal(fs.readFileSync(file, 'utf8'), doc);
      }
      assert.throws(() => replaceRegistrySection('nothing', 'x'), /found 0 and 0/);
    });

    it('the repository document has the markers', () => {
      const doc = fs.readFileSync(path.join(PROJECT_ROOT, 'docs', 'model_info.md'), 'utf8');
      assert.doesNotThrow(() => replaceRegistrySection(doc, 'x\n'));
    });
  });
});
