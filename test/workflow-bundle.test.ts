/** The prebuilt workflow bundle is used only while it is newer than every module it could contain. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prebuiltWorkflowBundle } from '../lib/temporal/workflow-bundle';
import { tempDir } from './support/fixtures';

describe('prebuilt workflow bundle', () => {
  const dir = tempDir();
  const bundle = path.join(dir, 'workflow-bundle.js');
  const inputs = [path.join(dir, 'workflows'), path.join(dir, 'lib')];
  const setTime = (file: string, seconds: number) => fs.utimesSync(file, seconds, seconds);

  before(() => {
    fs.mkdirSync(path.join(dir, 'workflows'));
    fs.mkdirSync(path.join(dir, 'lib', 'model'), { recursive: true });
    for (const f of ['workflows/index.js', 'lib/model/forest.js', 'lib/notes.txt']) {
      fs.writeFileSync(path.join(dir, f), '');
      setTime(path.join(dir, f), 1_000);
    }
  });

  it('is not used when missing, and says npm run build writes it', () => {
    assert.deepEqual(prebuiltWorkflowBundle(bundle, inputs), { stale: `${bundle} does not exist (npm run build writes it)` });
  });

  it('is used when newer than every compiled module', () => {
    fs.writeFileSync(bundle, '// bundle');
    setTime(bundle, 2_000);
    assert.deepEqual(prebuiltWorkflowBundle(bundle, inputs), { codePath: bundle });
  });

  it('is not used when any compiled module below the inputs is newer, however deep', () => {
    const deep = path.join(dir, 'lib', 'model', 'forest.js');
    setTime(deep, 3_000);
    assert.deepEqual(prebuiltWorkflowBundle(bundle, inputs), { stale: `${deep} is newer than ${bundle}` });
    setTime(deep, 1_000);
    setTime(path.join(dir, 'lib', 'notes.txt'), 3_000); // not a module
    assert.deepEqual(prebuiltWorkflowBundle(bundle, inputs), { codePath: bundle });
  });
});
