/**
 * The model registry: one row per trained model in `model_versions`, an append-only log of every
 * promotion in `model_promotions`, the artifact bytes in a `ModelStore` (lib/model/store.ts).
 *
 * Rules:
 * - status is 'registered' | 'promoted' | 'retired'; at most one version is 'promoted', and every
 *   status change is ONE UPDATE statement (atomic on both backends), so there is never a moment
 *   with two promoted versions, nor with none after a first promotion;
 * - `promoteIfBetter` is the gate used after training: the candidate is promoted only if its
 *   holdout MAE <= current MAE x (1 + tolerance); the first model always promotes;
 * - `promote` is the operator's unconditional override; `rollback` retires the current version and
 *   re-promotes the most recently promoted version before it that is not retired (so repeated
 *   rollbacks walk back through history);
 * - history: `promoted_at` is the last promotion of a version, `model_promotions` keeps all of
 *   them in order (`seq`), with the action and the reason.
 * Registration writes with `upsert` (a load job + MERGE on BigQuery), never streaming inserts, so
 * the row can be UPDATEd at once (BigQuery refuses DML on rows still in the streaming buffer).
 * Not safe against two operators promoting at the same instant (seq is read then written): the
 * registry is driven by one training workflow and the CLI.
 */
import type { Row, TableDef, Warehouse } from '../warehouse/types';
import { assertVersionId, ModelStore, sha256Hex } from './store';
import { ErrorType, ExpectedError } from '../errors';

export type ModelStatus = 'registered' | 'promoted' | 'retired';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export const MODEL_VERSIONS: TableDef = {
  name: 'model_versions',
  columns: [
    { name: 'version', type: 'STRING' },
    { name: 'created_at', type: 'TIMESTAMP' },
    { name: 'params', type: 'STRING' },
    { name: 'feature_names', type: 'STRING' },
    { name: 'train_from', type: 'DATE' },
    { name: 'train_to', type: 'DATE' },
    { name: 'test_from', type: 'DATE' },
    { name: 'test_to', type: 'DATE' },
    { name: 'train_rows', type: 'INT64' },
    { name: 'test_rows', type: 'INT64' },
    { name: 'mse', type: 'FLOAT64' },
    { name: 'mae', type: 'FLOAT64' },
    { name: 'r2', type: 'FLOAT64' },
    { name: 'baseline_line_mae', type: 'FLOAT64' },
    { name: 'baseline_line_mse', type: 'FLOAT64' },
    { name: 'baseline_mean_mae', type: 'FLOAT64' },
    { name: 'baseline_mean_mse', type: 'FLOAT64' },
    { name: 'artifact_path', type: 'STRING' },
    { name: 'artifact_sha256', type: 'STRING' },
    { name: 'artifact_bytes', type: 'INT64' },
    { name: 'status', type: 'STRING' },
    { name: 'promoted_at', type: 'TIMESTAMP', nullable: true },
    { name: 'note', type: 'STRING', nullable: true },
  ],
  key: ['version'],
};

export const MODEL_PROMOTIONS: TableDef = {
  name: 'model_promotions',
  columns: [
    { name: 'seq', type: 'INT64' },
    { name: 'at', type: 'TIMESTAMP' },
    { name: 'version', type: 'STRING' },
    { name: 'previous_version', type: 'STRING', nullable: true },
    /** 'gate' (promoteIfBetter), 'manual' (promote) or 'rollback'. */
    { name: 'action', type: 'STRING' },
    { name: 'reason', type: 'STRING', nullable: true },
  ],
  key: ['seq'],
};

export const MODEL_TABLES: readonly TableDef[] = [MODEL_VERSIONS, MODEL_PROMOTIONS];

export interface ErrorPair {
  mae: number;
  mse: number;
}

export interface ModelDataRange {
  trainFrom: string;
  trainTo: string;
  testFrom: string;
  testTo: string;
  trainRows: number;
  testRows: number;
}

export interface ModelMetrics {
  mse: number;
  mae: number;
  r2: number;
}

export interface ModelBaselines {
  /** Predict the line's own Quantity x UnitPrice. */
  lineRevenue: ErrorPair;
  /** Predict the training target's mean. */
  trainMean: ErrorPair;
}

export interface RegisterModelInput {
  /** The learner's parameters (ForestParams), stored as JSON. */
  params: { [key: string]: JsonValue };
  featureNames: string[];
  data: ModelDataRange;
  metrics: ModelMetrics;
  baselines: ModelBaselines;
  /** The serialized model (`RandomForestModel.toBuffer()`); opaque here. */
  artifact: Buffer;
  note?: string;
  /** Defaults to now. */
  createdAt?: Date;
  /** Defaults to rf-YYYYMMDD-HHMMSS-<first 8 hex of the artifact's SHA-256> (UTC). */
  version?: string;
}

export interface ModelVersion {
  version: string;
  createdAt: string;
  params: { [key: string]: JsonValue };
  featureNames: string[];
  data: ModelDataRange;
  metrics: ModelMetrics;
  baselines: ModelBaselines;
  artifact: { path: string; sha256: string; bytes: number };
  status: ModelStatus;
  promotedAt: string | null;
  note: string | null;
}

export interface PromotionEntry {
  seq: number;
  at: string;
  version: string;
  previousVersion: string | null;
  action: 'gate' | 'manual' | 'rollback';
  reason: string | null;
}

export interface GateResult {
  promoted: boolean;
  version: string;
  /** The promoted version before this call (undefined: there was none). */
  previous: string | undefined;
  reason: string;
}

/** Unknown version, nothing to roll back to, invalid input: user-fixable, one line. */
export class ModelRegistryError extends ExpectedError {
  override readonly name = ErrorType.ModelRegistry;
}

export function defaultVersionId(createdAt: Date, sha256: string): string {
  const iso = createdAt.toISOString(); // 2011-12-09T12:50:00.000Z
  return `rf-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${sha256.slice(0, 8)}`;
}

export async function ensureRegistrySchema(wh: Warehouse): Promise<void> {
  await wh.ensureSchema(MODEL_TABLES);
}

/** Store the artifact, then record the version as 'registered'. Refuses an existing version id. */
export async function registerModel(wh: Warehouse, store: ModelStore, input: RegisterModelInput): Promise<ModelVersion> {
  validateInput(input);
  await ensureRegistrySchema(wh);
  const createdAt = input.createdAt ?? new Date();
  const version = input.version ?? defaultVersionId(createdAt, sha256Hex(input.artifact));
  assertVersionId(version);
  if (await findModel(wh, version)) throw new ModelRegistryError(`model version ${version} is already registered`);
  const stored = await store.put(version, input.artifact);
  const row: Row = {
    version,
    created_at: createdAt,
    params: JSON.stringify(input.params),
    feature_names: JSON.stringify(input.featureNames),
    train_from: input.data.trainFrom,
    train_to: input.data.trainTo,
    test_from: input.data.testFrom,
    test_to: input.data.testTo,
    train_rows: input.data.trainRows,
    test_rows: input.data.testRows,
    mse: input.metrics.mse,
    mae: input.metrics.mae,
    r2: input.metrics.r2,
    baseline_line_mae: input.baselines.lineRevenue.mae,
    baseline_line_mse: input.baselines.lineRevenue.mse,
    baseline_mean_mae: input.baselines.trainMean.mae,
    baseline_mean_mse: input.baselines.trainMean.mse,
    artifact_path: stored.path,
    artifact_sha256: stored.sha256,
    artifact_bytes: stored.bytes,
    status: 'registered',
    promoted_at: null,
    note: input.note ?? null,
  };
  await wh.upsert(MODEL_VERSIONS, [row]);
  return getModel(wh, version);
}

/** All versions, newest first. */
export async function listModels(wh: Warehouse): Promise<ModelVersion[]> {
  await ensureRegistrySchema(wh);
  const rows = await wh.query<VersionRow>('SELECT * FROM model_versions ORDER BY created_at DESC, version DESC');
  return rows.map(fromRow);
}

export async function findModel(wh: Warehouse, version: string): Promise<ModelVersion | undefined> {
  await ensureRegistrySchema(wh);
  const [r] = await wh.query<VersionRow>('SELECT * FROM model_versions WHERE version = @version', { version });
  return r ? fromRow(r) : undefined;
}

/** The version, or a ModelRegistryError naming it. */
export async function getModel(wh: Warehouse, version: string): Promise<ModelVersion> {
  const m = await findModel(wh, version);
  if (!m) throw new ModelRegistryError(`unknown model version "${version}" (see "retailflow models list")`);
  return m;
}

/** The promoted version, or undefined before the first promotion. */
export async function currentModel(wh: Warehouse): Promise<ModelVersion | undefined> {
  await ensureRegistrySchema(wh);
  const rows = await wh.query<VersionRow>(`SELECT * FROM model_versions WHERE status = 'promoted' ORDER BY promoted_at DESC`);
  if (rows.length > 1) throw new Error(`registry invariant broken: ${rows.length} promoted versions (${rows.map((r) => r.version).join(', ')})`);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** The promoted model's bytes, checked against the registry's SHA-256. */
export async function loadArtifact(wh: Warehouse, store: ModelStore, version: string): Promise<Buffer> {
  const m = await getModel(wh, version);
  return store.get(m.version, m.artifact.sha256);
}

/** Promotion log, oldest first. */
export async function promotionHistory(wh: Warehouse): Promise<PromotionEntry[]> {
  await ensureRegistrySchema(wh);
  const rows = await wh.query<{ seq: number; at: string; version: string; previous_version: string | null; action: string; reason: string | null }>(
    'SELECT * FROM model_promotions ORDER BY seq');
  return rows.map((r) => ({
    seq: r.seq, at: r.at, version: r.version, previousVersion: r.previous_version,
    action: r.action as PromotionEntry['action'], reason: r.reason,
  }));
}

/**
 * The gate: promote `version` only if its holdout MAE <= current MAE x (1 + tolerance).
 * Never throws for a worse model: returns promoted = false and the reason.
 */
export async function promoteIfBetter(wh: Warehouse, version: string, opts: { tolerance: number; maxArtifactBytes?: number }): Promise<GateResult> {
  if (!Number.isFinite(opts.tolerance) || opts.tolerance < 0) throw new ModelRegistryError(`tolerance must be a non-negative number, got ${opts.tolerance}`);
  const candidate = await getModel(wh, version);
  const current = await currentModel(wh);
  const tooBig = oversized(candidate, opts.maxArtifactBytes);
  if (tooBig) return { promoted: false, version, previous: current?.version, reason: `${current ? `kept ${current.version}` : 'not promoted'}: ${tooBig}` };
  if (!current) {
    const reason = `first model: promoted with holdout MAE ${fmt(candidate.metrics.mae)}`;
    await setPromoted(wh, candidate.version, undefined, 'gate', reason);
    return { promoted: true, version, previous: undefined, reason };
  }
  if (current.version === version) return { promoted: false, version, previous: version, reason: `${version} is already the promoted model` };
  const limit = current.metrics.mae * (1 + opts.tolerance);
  const cmp = `holdout MAE ${fmt(candidate.metrics.mae)} vs ${current.version} MAE ${fmt(current.metrics.mae)}, tolerance ${opts.tolerance} (limit ${fmt(limit)})`;
  if (candidate.metrics.mae <= limit) {
    const reason = `promoted: ${cmp}`;
    await setPromoted(wh, version, current.version, 'gate', reason);
    return { promoted: true, version, previous: current.version, reason };
  }
  return { promoted: false, version, previous: current.version, reason: `kept ${current.version}: ${cmp}` };
}

/** Every server holds the promoted model in memory: a size limit keeps one run from outgrowing them. */
function oversized(candidate: ModelVersion, maxBytes: number | undefined): string | undefined {
  if (maxBytes === undefined || candidate.artifact.bytes <= maxBytes) return undefined;
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  return `artifact ${mb(candidate.artifact.bytes)} exceeds the limit of ${mb(maxBytes)} (MODEL_MAX_ARTIFACT_MB)`;
}

/** Manual, unconditional promotion. */
export async function promote(wh: Warehouse, version: string, reason = 'manual promotion'): Promise<GateResult> {
  await getModel(wh, version);
  const current = await currentModel(wh);
  if (current?.version === version) return { promoted: false, version, previous: version, reason: `${version} is already the promoted model` };
  await setPromoted(wh, version, current?.version, 'manual', reason);
  return { promoted: true, version, previous: current?.version, reason };
}

/**
 * Retire the promoted version and re-promote the most recently promoted version before it that
 * is not retired. Errors clearly when nothing is promoted or there is nothing to go back to.
 */
export async function rollback(wh: Warehouse): Promise<{ version: string; retired: string }> {
  const current = await currentModel(wh);
  if (!current) throw new ModelRegistryError('nothing to roll back: no model is promoted');
  const [target] = await wh.query<{ version: string }>(`
    SELECT p.version FROM model_promotions AS p JOIN model_versions AS v ON v.version = p.version
    WHERE p.version <> @current AND v.status <> 'retired'
    ORDER BY p.seq DESC LIMIT 1`, { current: current.version });
  if (!target) throw new ModelRegistryError(`cannot roll back ${current.version}: no earlier promoted version to return to`);
  const at = new Date();
  await wh.execute(`
    UPDATE model_versions
    SET status = CASE WHEN version = @target THEN 'promoted' ELSE 'retired' END,
        promoted_at = CASE WHEN version = @target THEN @at ELSE promoted_at END
    WHERE version = @target OR version = @current`, { target: target.version, current: current.version, at });
  await logPromotion(wh, at, target.version, current.version, 'rollback', `rolled back from ${current.version}`);
  return { version: target.version, retired: current.version };
}

async function setPromoted(wh: Warehouse, version: string, previous: string | undefined, action: PromotionEntry['action'], reason: string): Promise<void> {
  const at = new Date();
  // One statement: the new version becomes promoted and the old one registered together.
  await wh.execute(`
    UPDATE model_versions
    SET status = CASE WHEN version = @version THEN 'promoted' ELSE 'registered' END,
        promoted_at = CASE WHEN version = @version THEN @at ELSE promoted_at END
    WHERE version = @version OR status = 'promoted'`, { version, at });
  await logPromotion(wh, at, version, previous, action, reason);
}

async function logPromotion(wh: Warehouse, at: Date, version: string, previous: string | undefined, action: PromotionEntry['action'], reason: string): Promise<void> {
  const [{ seq }] = await wh.query<{ seq: number }>('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM model_promotions');
  await wh.upsert(MODEL_PROMOTIONS, [{ seq: Number(seq), at, version, previous_version: previous ?? null, action, reason }]);
}

interface VersionRow {
  [k: string]: string | number | null;
  version: string;
  created_at: string;
  params: string;
  feature_names: string;
  train_from: string;
  train_to: string;
  test_from: string;
  test_to: string;
  train_rows: number;
  test_rows: number;
  mse: number;
  mae: number;
  r2: number;
  baseline_line_mae: number;
  baseline_line_mse: number;
  baseline_mean_mae: number;
  baseline_mean_mse: number;
  artifact_path: string;
  artifact_sha256: string;
  artifact_bytes: number;
  status: string;
  promoted_at: string | null;
  note: string | null;
}

function fromRow(r: VersionRow): ModelVersion {
  return {
    version: r.version,
    createdAt: r.created_at,
    params: JSON.parse(r.params) as { [key: string]: JsonValue },
    featureNames: JSON.parse(r.feature_names) as string[],
    data: {
      trainFrom: r.train_from, trainTo: r.train_to, testFrom: r.test_from, testTo: r.test_to,
      trainRows: Number(r.train_rows), testRows: Number(r.test_rows),
    },
    metrics: { mse: r.mse, mae: r.mae, r2: r.r2 },
    baselines: {
      lineRevenue: { mae: r.baseline_line_mae, mse: r.baseline_line_mse },
      trainMean: { mae: r.baseline_mean_mae, mse: r.baseline_mean_mse },
    },
    artifact: { path: r.artifact_path, sha256: r.artifact_sha256, bytes: Number(r.artifact_bytes) },
    status: r.status as ModelStatus,
    promotedAt: r.promoted_at,
    note: r.note,
  };
}

function validateInput(input: RegisterModelInput): void {
  const numbers: Array<[string, number]> = [
    ['metrics.mse', input.metrics.mse], ['metrics.mae', input.metrics.mae], ['metrics.r2', input.metrics.r2],
    ['baselines.lineRevenue.mae', input.baselines.lineRevenue.mae], ['baselines.lineRevenue.mse', input.baselines.lineRevenue.mse],
    ['baselines.trainMean.mae', input.baselines.trainMean.mae], ['baselines.trainMean.mse', input.baselines.trainMean.mse],
  ];
  for (const [name, v] of numbers) if (!Number.isFinite(v)) throw new ModelRegistryError(`${name} must be a finite number, got ${v}`);
  for (const [name, v] of [['data.trainRows', input.data.trainRows], ['data.testRows', input.data.testRows]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new ModelRegistryError(`${name} must be a non-negative integer, got ${v}`);
  }
  for (const [name, v] of Object.entries({ trainFrom: input.data.trainFrom, trainTo: input.data.trainTo, testFrom: input.data.testFrom, testTo: input.data.testTo })) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new ModelRegistryError(`data.${name} must be YYYY-MM-DD, got "${v}"`);
  }
  if (input.artifact.length === 0) throw new ModelRegistryError('artifact is empty');
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}
