/**
 * The Temporal contract has one home (lib/temporal/contract.ts); these checks keep its copies
 * honest: the workflow bundle exports every type it names, the error classes carry its error
 * types, and the Airflow DAGs' Python constants equal the TypeScript ones.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/config';
import {
  DEFAULT_TASK_QUEUE,
  ErrorType,
  PER_DAY_WORKFLOWS,
  TRAINING_ID_PREFIX,
  WorkflowType,
  backfillWorkflowId,
  dailyAnalyticsWorkflowId,
  dataQualityWorkflowId,
  trainingWorkflowId,
} from '../lib/temporal/contract';
import * as workflows from '../workflows';
import { InvalidDateError, NoDataForDateError, InvalidInputError, StorageError } from '../lib/errors';
import { IngestError } from '../lib/ingest/load';
import { InvalidThresholdsError } from '../lib/quality/thresholds';
import { WarehouseSchemaError } from '../lib/warehouse/types';
import { TrainingDataError } from '../lib/model/training';
import { ModelRegistryError } from '../lib/model/registry';
import { ModelInfoError } from '../lib/model/model-info';

/** `NAME = "value"` at the top level of a DAG file. */
function pythonConstant(file: string, name: string): string {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, 'dags', file), 'utf8');
  const m = new RegExp(`^${name} = "([^"]*)"$`, 'm').exec(text);
  assert.ok(m, `${name} not found in dags/${file}`);
  return m[1];
}

describe('the Temporal contract', () => {
  it('names only workflow types that workflows/index.ts exports', () => {
    for (const type of Object.values(WorkflowType)) assert.equal(typeof (workflows as Record<string, unknown>)[type], 'function', type);
    for (const type of Object.keys(PER_DAY_WORKFLOWS)) assert.ok(Object.values(WorkflowType).includes(type as never), type);
  });

  it('builds the business IDs clients, backfills and DAGs share', () => {
    assert.equal(dailyAnalyticsWorkflowId('2011-12-09'), 'daily-analytics-2011-12-09');
    assert.equal(dataQualityWorkflowId('2011-12-09'), 'data-quality-2011-12-09');
    assert.equal(trainingWorkflowId('2011-12-09'), 'model-training-2011-12-09');
    assert.equal(backfillWorkflowId('dataQualityWorkflow', '2011-01-01', '2011-01-31'), 'backfill-data-quality-2011-01-01-2011-01-31');
  });

  it('error types are the names the error classes carry', () => {
    const pairs: Array<[Error, string]> = [
      [new InvalidDateError('x'), ErrorType.InvalidDate],
      [new NoDataForDateError('x'), ErrorType.NoDataForDate],
      [new InvalidInputError('x'), ErrorType.InvalidInput],
      [new IngestError('x'), ErrorType.Ingest],
      [new InvalidThresholdsError('x'), ErrorType.InvalidThresholds],
      [new WarehouseSchemaError('x'), ErrorType.WarehouseSchema],
      [new TrainingDataError('x'), ErrorType.TrainingData],
      [new ModelRegistryError('x'), ErrorType.ModelRegistry],
      [new ModelInfoError('x'), ErrorType.ModelInfo],
      [new StorageError('x'), ErrorType.Storage],
    ];
    // The SDK takes an activity failure's type from the class name, so both must match.
    for (const [err, type] of pairs) {
      assert.equal(err.name, type);
      assert.equal(err.constructor.name, type);
    }
  });

  it('the Airflow DAGs use the same workflow types, ID prefixes and task queue', () => {
    assert.equal(pythonConstant('daily_analytics.py', 'WORKFLOW_TYPE'), WorkflowType.dailyAnalytics);
    assert.equal(pythonConstant('daily_analytics.py', 'ID_PREFIX'), PER_DAY_WORKFLOWS.dailyAnalyticsWorkflow.idPrefix);
    assert.equal(pythonConstant('data_quality.py', 'WORKFLOW_TYPE'), WorkflowType.dataQuality);
    assert.equal(pythonConstant('data_quality.py', 'ID_PREFIX'), PER_DAY_WORKFLOWS.dataQualityWorkflow.idPrefix);
    assert.equal(pythonConstant('ml_training.py', 'WORKFLOW_TYPE'), WorkflowType.training);
    assert.equal(pythonConstant('ml_training.py', 'ID_PREFIX'), TRAINING_ID_PREFIX);
    assert.equal(pythonConstant('retailflow_temporal.py', 'DEFAULT_TASK_QUEUE'), DEFAULT_TASK_QUEUE);
  });
});

describe('the build', () => {
  it('puts no tests or benches into dist/ or the image', () => {
    // tsconfig.build.json has comments, so read its include list with a regex, not JSON.parse.
    const build = fs.readFileSync(path.join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8');
    const include = JSON.parse(/"include":\s*(\[[^\]]*\])/.exec(build)?.[1] ?? '[]') as string[];
    assert.ok(include.includes('workflows') && include.includes('clients'), include.join(','));
    assert.deepEqual(include.filter((d) => /^(test|bench|tests_py)/.test(d)), []);
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.build, /tsc -p tsconfig\.build\.json/);
    const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    assert.doesNotMatch(dockerfile, /^COPY (test|bench)\b/m);
    assert.match(dockerfile, /^COPY clients clients$/m);
  });
});
