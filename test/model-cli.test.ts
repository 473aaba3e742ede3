/**
 * `retailflow models ...` run as users run it (node dist/tools/cli.js), on a DuckDB file and a
 * model store in temp dirs. The registry is seeded in-process with fake artifacts (opaque bytes).
 * Build first: `npx tsc -p .`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import { registerModel } from '../lib/model/registry';
import { FileModelStore } from '../lib/model/store';
import { DuckDBWarehouse } from '../lib/warehouse/duckdb';
import { tempDir } from './support/fixtures';
import { CliRun, runCli } from './support/cli';
import { fakeModel } from './support/model-fixtures';

const BUILT = path.join(PROJECT_ROOT, 'dist', 'tools', 'commands', 'models.js');
const SOURCES = ['tools/commands/models.ts', 'lib/model/registry.ts', 'lib/model/store.ts', 'lib/model/model-info.ts'].map((f) => path.join(PROJECT_ROOT, f));

/** The models CLI always runs on the embedded warehouse here. */
const cli = (args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> => runCli(args, { WAREHOUSE: 'duckdb', ...env }, 60_000);

describe('CLI: models', function () {
  this.timeout(120_000);
  const dir = tempDir();
  // MODEL_INFO_PATH: promote and rollback regenerate it; never the repository's docs/model_info.md.
  const infoPath = path.join(dir, 'model_info.md');
  const env = { DUCKDB_PATH: path.join(dir, 'w.duckdb'), MODEL_STORE_DIR: path.join(dir, 'models'), PROMOTION_MAE_TOLERANCE: '0', MODEL_INFO_PATH: infoPath };

  before(async () => {
    assert.ok(fs.existsSync(BUILT), `${BUILT} is missing: run "npx tsc -p ." first`);
    // Each source against its own output: an incremental build leaves unchanged outputs untouched.
    for (const src of SOURCES) {
      const built = path.join(PROJECT_ROOT, 'dist', path.relative(PROJECT_ROOT, src)).replace(/\.ts$/, '.js');
      assert.ok(fs.statSync(src).mtimeMs <= fs.statSync(built).mtimeMs, `${src} is newer than dist: run "npx tsc -p ." first`);
    }
    const wh = new DuckDBWarehouse({ path: env.DUCKDB_PATH });
    const store = new FileModelStore(env.MODEL_STORE_DIR);
    try {
      await registerModel(wh, store, fakeModel('rf-20261124-100000-aaaaaaaa', 100, { createdAt: new Date('2026-11-24T10:00:00Z') }));
      await registerModel(wh, store, fakeModel('rf-20261124-110000-bbbbbbbb', 90, { createdAt: new Date('2026-11-24T11:00:00Z') }));
      await registerModel(wh, store, fakeModel('rf-20261124-120000-cccccccc', 150, { createdAt: new Date('2026-11-24T12:00:00Z') }));
    } finally {
      await wh.close(); // release the file for the CLI process
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every models command has --help', async () => {
    for (const args of [['models'], ['models', 'list'], ['models', 'show'], ['models', 'promote'], ['models', 'rollback'], ['models', 'info'], ['models', 'train']]) {
      const res = await cli([...args, '--help'], env);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.err}`);
      assert.match(res.out, /Usage: retailflow models/);
    }
  });

  it('list shows every version newest first, with status and metrics; --json parses', async () => {
    const res = await cli(['models', 'list'], env);
    assert.equal(res.code, 0, res.err);
    const lines = res.out.trimEnd().split('\n');
    assert.match(lines[0], /^VERSION\s+STATUS\s+MAE\s+MSE\s+R2\s+LINE MAE\s+MEAN MAE\s+TRAIN ROWS\s+CREATED$/);
    assert.match(lines[1], /^rf-20261124-120000-cccccccc\s+registered\s+150\.00\s/);
    assert.match(lines[3], /^rf-20261124-100000-aaaaaaaa\s+registered\s+100\.00\s+30000\.00\s+0\.4200\s+900\.50\s+800\.25\s+421624\s+2026-11-24T10:00:00\.000Z$/);
    const json = JSON.parse((await cli(['models', 'list', '--json'], env)).out) as Array<{ version: string }>;
    assert.deepEqual(json.map((m) => m.version), ['rf-20261124-120000-cccccccc', 'rf-20261124-110000-bbbbbbbb', 'rf-20261124-100000-aaaaaaaa']);
  });

  it('show prints one version; an unknown version is one line on stderr and exit 1', async () => {
    const res = await cli(['models', 'show', 'rf-20261124-100000-aaaaaaaa'], env);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^version\s+rf-20261124-100000-aaaaaaaa$/m);
    assert.match(res.out, /^train\s+2010-12-01 \.\. 2011-10-31 \(421624 rows\)$/m);
    assert.match(res.out, /^holdout mae\s+100\.0000$/m);
    assert.match(res.out, /^artifact sha256\s+[0-9a-f]{64}$/m);
    for (const args of [['show', 'rf-nope'], ['promote', 'rf-nope']]) {
      const bad = await cli(['models', ...args], env);
      assert.equal(bad.code, 1);
      assert.equal(bad.err, 'error: unknown model version "rf-nope" (see "retailflow models list")\n');
    }
  });

  it('info prints the generated registry section; --write updates only the marked section of the document', async () => {
    let res = await cli(['models', 'info'], env);
    assert.equal(res.code, 0, res.err);
    assert.ok(res.out.startsWith('<!-- Generated from the model registry'), res.out);
    assert.match(res.out, /^No version is promoted yet\.$/m);
    assert.match(res.out, /^### Versions \(3, newest first\)$/m);
    assert.match(res.out, /^\| `rf-20261124-100000-aaaaaaaa` \| registered \| 2026-11-24T10:00:00\.000Z \| 100\.00 \| 30,000\.00 \| 0\.4200 \|/m);
    assert.ok(!fs.existsSync(infoPath), 'printing writes nothing');

    const doc = path.join(dir, 'doc.md');
    fs.writeFileSync(doc, '# Model\n\nprose\n\n<!-- registry:begin -->\nstale\n<!-- registry:end -->\n\nmore prose\n');
    res = await cli(['models', 'info', '--write', '--file', doc], env);
    assert.equal(res.code, 0, res.err);
    assert.equal(res.out, `updated ${doc} (3 versions, promoted: none)\n`);
    const text = fs.readFileSync(doc, 'utf8');
    const printed = (await cli(['models', 'info'], env)).out;
    assert.equal(text, `# Model\n\nprose\n\n<!-- registry:begin -->\n${printed}<!-- registry:end -->\n\nmore prose\n`);
    res = await cli(['models', 'info', '--write', '--file', doc], env);
    assert.equal(res.out, `${doc} is up to date (3 versions, promoted: none)\n`);

    fs.writeFileSync(doc, '# no markers\n');
    res = await cli(['models', 'info', '--write', '--file', doc], env);
    assert.equal(res.code, 1);
    assert.match(res.err, /^error: .*doc\.md needs exactly one "<!-- registry:begin -->" followed by one "<!-- registry:end -->" line/);
    assert.equal(fs.readFileSync(doc, 'utf8'), '# no markers\n');

    res = await cli(['models', 'info', '--file', doc], env);
    assert.equal(res.code, 1);
    assert.match(res.err, /--file names the document to update: add --write/);
  });

  it('promote (manual and --if-better) and rollback, with clear messages', async () => {
    const none = await cli(['models', 'rollback'], env);
    assert.equal(none.code, 1);
    assert.equal(none.err, 'error: nothing to roll back: no model is promoted\n');

    let res = await cli(['models', 'promote', 'rf-20261124-100000-aaaaaaaa'], env);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^promoted rf-20261124-100000-aaaaaaaa: manual promotion$/m);
    assert.ok(res.out.split('\n').includes(`updated ${infoPath}`), res.out);

    res = await cli(['models', 'promote', 'rf-20261124-120000-cccccccc', '--if-better'], env); // MAE 150 > 100
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^not promoted: kept rf-20261124-100000-aaaaaaaa: holdout MAE 150 vs .* MAE 100, tolerance 0 /m);
    assert.match(fs.readFileSync(infoPath, 'utf8'), /^`rf-20261124-120000-cccccccc`: not promoted\. kept rf-20261124-100000-aaaaaaaa: /m);

    res = await cli(['models', 'promote', 'rf-20261124-120000-cccccccc', '--if-better', '--tolerance', '0.5'], env); // limit 150
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /^promoted rf-20261124-120000-cccccccc \(was rf-20261124-100000-aaaaaaaa\): promoted: /m);

    res = await cli(['models', 'promote', 'rf-20261124-110000-bbbbbbbb', '--tolerance', 'lots'], env);
    assert.equal(res.code, 1);
    assert.match(res.err, /expected a non-negative number, got "lots"/);

    res = await cli(['models', 'rollback'], env);
    assert.equal(res.code, 0, res.err);
    assert.equal(res.out, `rolled back: rf-20261124-100000-aaaaaaaa is promoted again, rf-20261124-120000-cccccccc is retired\nupdated ${infoPath}\n`);
    // promote and rollback regenerated MODEL_INFO_PATH (created by the first promote).
    const doc = fs.readFileSync(infoPath, 'utf8');
    assert.match(doc, /^### Promoted version: `rf-20261124-100000-aaaaaaaa`$/m);
    assert.match(doc, /^\| `rf-20261124-120000-cccccccc` \| retired \|/m);
    assert.match(doc, /^\| 3 \| \S+ \| rollback \| `rf-20261124-100000-aaaaaaaa` \| `rf-20261124-120000-cccccccc` \| rolled back from rf-20261124-120000-cccccccc \|$/m);
    assert.ok(!doc.includes('### Latest gate decision'), 'a rollback has no gate decision');

    const list = JSON.parse((await cli(['models', 'list', '--json'], env)).out) as Array<{ version: string; status: string }>;
    assert.deepEqual(Object.fromEntries(list.map((m) => [m.version, m.status])), {
      'rf-20261124-100000-aaaaaaaa': 'promoted', 'rf-20261124-110000-bbbbbbbb': 'registered', 'rf-20261124-120000-cccccccc': 'retired',
    });
    const show = await cli(['models', 'show', 'rf-20261124-100000-aaaaaaaa'], env);
    assert.match(show.out, /^status\s+promoted$/m);
    assert.match(show.out, /^history\s+\S+ promoted \(manual\): manual promotion$/m);
    assert.match(show.out, /^history\s+\S+ promoted \(rollback\): rolled back from rf-20261124-120000-cccccccc$/m);

    res = await cli(['models', 'rollback'], env);
    assert.equal(res.code, 1);
    assert.equal(res.err, 'error: cannot roll back rf-20261124-100000-aaaaaaaa: no earlier promoted version to return to\n');
  });
});
