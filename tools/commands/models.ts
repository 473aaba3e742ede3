/** `retailflow models ...`: train the revenue model; its registry (list, show, promote, rollback, info). */
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../lib/config';
import { ModelInfoError, readRegistrySnapshot, renderModelInfo, writeModelInfo } from '../../lib/model/model-info';
import {
  currentModel, GateResult, listModels, getModel, ModelRegistryError, ModelVersion, promote, promoteIfBetter, promotionHistory, rollback,
} from '../../lib/model/registry';
import { ModelStoreError } from '../../lib/model/store';
import { uiLink, withTemporalClient } from '../../clients/connection';
import { startTraining, trainingProgress } from '../../clients/training';
import { progressBar } from '../../lib/progress';
import { rootCauseMessage } from '../../lib/errors';
import type { TrainingInput, TrainingResult } from '../../lib/temporal/contract';
import type { Warehouse } from '../../lib/warehouse/types';
import { CliError, isoDate, positiveInt, withWarehouse } from './common';

/** Registry errors are the user's to fix: one line, exit code 1 (tools/cli.ts prints CliError so). */
async function withRegistry<T>(fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  try {
    return await withWarehouse(loadConfig(), fn);
  } catch (err) {
    if (err instanceof ModelRegistryError || err instanceof ModelStoreError || err instanceof ModelInfoError) throw new CliError(err.message);
    throw err;
  }
}

function tolerance(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative number, got "${value}"`);
  return n;
}

const num = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function printList(models: ModelVersion[]): void {
  const header = ['VERSION', 'STATUS', 'MAE', 'MSE', 'R2', 'LINE MAE', 'MEAN MAE', 'TRAIN ROWS', 'CREATED'];
  const rows = models.map((m) => [
    m.version, m.status, num(m.metrics.mae), num(m.metrics.mse), num(m.metrics.r2, 4),
    num(m.baselines.lineRevenue.mae), num(m.baselines.trainMean.mae), String(m.data.trainRows), m.createdAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

function printModel(m: ModelVersion): void {
  const lines: Array<[string, string]> = [
    ['version', m.version],
    ['status', m.status],
    ['created_at', m.createdAt],
    ['promoted_at', m.promotedAt ?? '-'],
    ['params', JSON.stringify(m.params)],
    ['features', m.featureNames.join(', ')],
    ['train', `${m.data.trainFrom} .. ${m.data.trainTo} (${m.data.trainRows} rows)`],
    ['test', `${m.data.testFrom} .. ${m.data.testTo} (${m.data.testRows} rows)`],
    ['holdout mae', num(m.metrics.mae, 4)],
    ['holdout mse', num(m.metrics.mse, 4)],
    ['holdout r2', num(m.metrics.r2, 4)],
    ['baseline line mae', num(m.baselines.lineRevenue.mae, 4)],
    ['baseline line mse', num(m.baselines.lineRevenue.mse, 4)],
    ['baseline mean mae', num(m.baselines.trainMean.mae, 4)],
    ['baseline mean mse', num(m.baselines.trainMean.mse, 4)],
    ['artifact', `${m.artifact.path} (${m.artifact.bytes} bytes)`],
    ['artifact sha256', m.artifact.sha256],
    ['note', m.note ?? '-'],
  ];
  for (const [k, v] of lines) console.log(`${k.padEnd(18)} ${v}`);
}

/**
 * After a promotion or rollback: regenerate MODEL_INFO_PATH too (cheap: two queries and one small
 * file). The registry change has happened by then, so a document that cannot be written is a
 * warning on stderr, not a failed command.
 */
async function refreshModelInfo(wh: Warehouse, gate?: GateResult): Promise<string> {
  const file = loadConfig().model.infoPath;
  try {
    const res = await writeModelInfo(wh, file, gate);
    return res.changed ? `updated ${res.path}` : `${res.path} is up to date`;
  } catch (err) {
    console.error(`warning: ${file} not regenerated: ${(err as Error).message}`);
    return '';
  }
}

interface TrainOptions {
  tag?: string;
  boundary?: string;
  trees?: number;
  minSamplesLeaf?: number;
  seed?: number;
  trainStride?: number;
  tolerance?: number;
  note?: string;
  json: boolean;
}

function trainingInput(opts: TrainOptions): TrainingInput {
  const params = { nTrees: opts.trees, minSamplesLeaf: opts.minSamplesLeaf, seed: opts.seed };
  return {
    boundary: opts.boundary,
    params: Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)),
    tolerance: opts.tolerance,
    trainStride: opts.trainStride,
    note: opts.note,
  };
}

function printTrainingResult(r: TrainingResult): void {
  console.log(`registered ${r.version}: ${r.trainRows} training rows, ${r.testRows} holdout rows`);
  console.log(`  holdout            MAE ${num(r.metrics.mae)}  MSE ${num(r.metrics.mse)}  R2 ${num(r.metrics.r2, 4)}`);
  console.log(`  line revenue       MAE ${num(r.baselines.lineRevenue.mae)}  MSE ${num(r.baselines.lineRevenue.mse)}`);
  console.log(`  training mean      MAE ${num(r.baselines.trainMean.mae)}  MSE ${num(r.baselines.trainMean.mse)}`);
  console.log(r.beatsBaselines ? '  beats both baselines on MAE' : '  does NOT beat both baselines on MAE');
  // The gate's reason says what it did ("promoted: ...", "kept <current>: ...").
  console.log(`gate: ${r.gate.reason}`);
  if (r.modelInfo.written) console.log(`updated ${r.modelInfo.path}`);
  else if (r.modelInfo.error) console.log(`warning: model document not regenerated: ${r.modelInfo.error}`);
}

/** Polls the run and draws its trees as a progress bar until the workflow ends. */
async function followTraining(handle: Parameters<typeof trainingProgress>[0], show: boolean): Promise<void> {
  let bar: ReturnType<typeof progressBar> | undefined;
  let lastTotal = 0;
  for (;;) {
    const progress = await trainingProgress(handle);
    if (progress.status !== 'RUNNING') {
      if (progress.status === 'COMPLETED' && bar && lastTotal) bar.update(lastTotal);
      break;
    }
    const t = progress.training;
    if (show && t?.nTrees) {
      bar ??= progressBar(`training (attempt ${t.attempt})`, t.nTrees);
      lastTotal = t.nTrees;
      bar.update(t.treesDone);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  bar?.finish();
}

function trainCommand(): Command {
  return new Command('train')
    .description('Train, evaluate, register and (if no worse on holdout MAE) promote a model: the trainingWorkflow, ID model-training-<tag>.')
    .option('--tag <tag>', 'names the run: model-training-<tag> (default: today, UTC)')
    .option('--boundary <YYYY-MM-DD>', 'first day of the holdout split (default 2011-11-01)', isoDate)
    .option('--trees <n>', 'number of trees (default 100)', positiveInt)
    .option('--min-samples-leaf <n>', 'minimum distinct rows per leaf (default 12)', positiveInt)
    .option('--seed <n>', 'random seed (default 0)', (v) => { const n = Number(v); if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${v}"`); return n; })
    .option('--train-stride <n>', 'keep every n-th training row, for quick trials (default 1)', positiveInt)
    .option('--tolerance <x>', 'relative MAE tolerance of the promotion gate (default: PROMOTION_MAE_TOLERANCE)', tolerance)
    .option('--note <text>', 'stored with the version')
    .option('--json', 'print the workflow result as JSON', false)
    .action(async (opts: TrainOptions) => {
      const config = loadConfig();
      await withTemporalClient(config, async (client) => {
        let handle;
        try {
          const tag = opts.tag ?? new Date().toISOString().slice(0, 10);
          handle = await startTraining(client, config.temporal.taskQueue, tag, trainingInput(opts));
        } catch (err) {
          throw new CliError((err as Error).message);
        }
        if (!opts.json) console.log(`workflow ${handle.workflowId}: ${uiLink(config, handle.workflowId)}`);
        await followTraining(handle, !opts.json);
        try {
          const result = await handle.result();
          if (opts.json) console.log(JSON.stringify(result, null, 2));
          else printTrainingResult(result);
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw new CliError(`${handle.workflowId} failed: ${rootCauseMessage(err)}`);
          throw err;
        }
      });
    });
}

export function modelsCommand(): Command {
  const cmd = new Command('models').description('The revenue model: train it (a Temporal workflow); list, show, promote and roll back versions; regenerate docs/model_info.md.');
  cmd.addCommand(trainCommand());

  cmd.command('list')
    .description('List registered model versions, newest first, with holdout metrics and baselines.')
    .option('--json', 'print the versions as JSON', false)
    .action(async (opts: { json: boolean }) => {
      const models = await withRegistry((wh) => listModels(wh));
      if (opts.json) return console.log(JSON.stringify(models, null, 2));
      if (models.length === 0) return console.log('no models registered yet');
      printList(models);
    });

  cmd.command('show')
    .description('Show one model version: parameters, features, data range, metrics, artifact, promotion history.')
    .argument('<version>', 'the model version (see "models list")')
    .option('--json', 'print the version as JSON', false)
    .action(async (version: string, opts: { json: boolean }) => {
      const { model, history } = await withRegistry(async (wh) => ({
        model: await getModel(wh, version),
        history: (await promotionHistory(wh)).filter((p) => p.version === version || p.previousVersion === version),
      }));
      if (opts.json) return console.log(JSON.stringify({ ...model, promotions: history }, null, 2));
      printModel(model);
      for (const p of history) {
        const what = p.version === version ? `promoted (${p.action})` : `replaced by ${p.version} (${p.action})`;
        console.log(`${'history'.padEnd(18)} ${p.at} ${what}${p.reason ? `: ${p.reason}` : ''}`);
      }
    });

  cmd.command('promote')
    .description('Make a version the promoted model. Unconditional unless --if-better (the MAE gate).')
    .argument('<version>', 'the model version to promote')
    .option('--if-better', 'promote only if its holdout MAE <= current MAE x (1 + tolerance)', false)
    .option('--tolerance <x>', 'relative MAE tolerance for --if-better (default: PROMOTION_MAE_TOLERANCE)', tolerance)
    .action(async (version: string, opts: { ifBetter: boolean; tolerance?: number }) => {
      const tol = opts.tolerance ?? loadConfig().model.promotionMaeTolerance;
      const { result, info } = await withRegistry(async (wh) => {
        const r = await (opts.ifBetter ? promoteIfBetter(wh, version, { tolerance: tol, maxArtifactBytes: loadConfig().model.maxArtifactBytes }) : promote(wh, version));
        return { result: r, info: await refreshModelInfo(wh, opts.ifBetter ? r : undefined) };
      });
      if (result.promoted) console.log(`promoted ${version}${result.previous ? ` (was ${result.previous})` : ''}: ${result.reason}`);
      else console.log(`not promoted: ${result.reason}`);
      if (info) console.log(info);
    });

  cmd.command('rollback')
    .description('Retire the promoted version and re-promote the previously promoted one.')
    .action(async () => {
      const { version, retired, info } = await withRegistry(async (wh) => {
        const r = await rollback(wh);
        const now = await currentModel(wh);
        if (now?.version !== r.version) throw new Error(`rollback left ${now?.version ?? 'nothing'} promoted, expected ${r.version}`);
        return { ...r, info: await refreshModelInfo(wh) };
      });
      console.log(`rolled back: ${version} is promoted again, ${retired} is retired`);
      if (info) console.log(info);
    });

  cmd.command('info')
    .description(
      'Render the registry section of the model document (promoted version, all versions, promotions) as Markdown. ' +
      'Prints it by default; --write replaces the text between "<!-- registry:begin -->" and "<!-- registry:end -->" ' +
      'in the document (creating the file if it does not exist; an existing file without the markers is an error).')
    .option('--write', 'update the document instead of printing (atomic: temp file, then rename)', false)
    .option('--file <path>', 'the document to update with --write (default: MODEL_INFO_PATH, data/model_info.md)')
    .action(async (opts: { write: boolean; file?: string }) => {
      if (opts.file !== undefined && !opts.write) throw new CliError('--file names the document to update: add --write (without it, info prints to stdout)');
      const file = path.resolve(opts.file ?? loadConfig().model.infoPath);
      if (!opts.write) {
        process.stdout.write(renderModelInfo(await withRegistry((wh) => readRegistrySnapshot(wh))));
        return;
      }
      const res = await withRegistry((wh) => writeModelInfo(wh, file));
      const what = `${res.versions} version${res.versions === 1 ? '' : 's'}, promoted: ${res.promoted ?? 'none'}`;
      console.log(res.changed ? `${res.created ? 'created' : 'updated'} ${res.path} (${what})` : `${res.path} is up to date (${what})`);
    });

  return cmd;
}
