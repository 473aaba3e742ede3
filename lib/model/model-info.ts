/**
 * docs/model_info.md is partly generated from the model registry: the prose (learner, features,
 * measurements) is written by hand, the section between the two markers below is rendered here.
 *
 * - `renderModelInfo(snapshot)` is pure and deterministic: the same registry gives the same bytes
 *   (no "generated at" time), so it is tested exactly and an unchanged registry rewrites nothing;
 * - `updateModelInfoFile(file, section)` replaces only the text between the markers and writes
 *   atomically (temp file in the same directory, then rename). A file without the markers is an
 *   error, never guessed at (we will not append to, or mangle, a hand-written document); a file that
 *   does not exist yet is created holding just the markers and the section (temp paths in tests,
 *   a fresh MODEL_INFO_PATH).
 * Writers: the training workflow's `writeModelInfo` activity (after the gate, promoted or not) and
 * `retailflow models info --write` / `promote` / `rollback`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Warehouse } from '../warehouse/types';
import { GateResult, listModels, ModelVersion, promotionHistory, PromotionEntry } from './registry';
import { ErrorType, ExpectedError } from '../errors';
import { writeFileAtomicSync } from '../files';

export const REGISTRY_BEGIN = '<!-- registry:begin -->';
export const REGISTRY_END = '<!-- registry:end -->';
/** Versions listed in the table; older ones are counted, not listed (`retailflow models list` has them all). */
export const MAX_VERSIONS = 50;
/** Promotion log entries shown, newest first. */
export const MAX_PROMOTIONS = 10;

export interface RegistrySnapshot {
  /** All versions, newest first (as `listModels`). */
  models: ModelVersion[];
  /** The promotion log, oldest first (as `promotionHistory`). */
  promotions: PromotionEntry[];
  /**
   * The latest gate decision, when the writer has one (the training workflow, `promote --if-better`).
   * The registry logs promotions only, not rejections, so a plain regeneration omits it.
   */
  gate?: GateResult;
}

/** Doc missing its markers, markers out of order: one line, user-fixable. */
export class ModelInfoError extends ExpectedError {
  override readonly name = ErrorType.ModelInfo;
}

export async function readRegistrySnapshot(wh: Warehouse, gate?: GateResult): Promise<RegistrySnapshot> {
  const models = await listModels(wh);
  const promotions = await promotionHistory(wh);
  return gate ? { models, promotions, gate } : { models, promotions };
}

/** Digits grouped by thousands, fixed decimals; independent of the locale and ICU data. */
export function formatNumber(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  const [int, frac] = Math.abs(x).toFixed(digits).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${x < 0 && Number(Math.abs(x).toFixed(digits)) !== 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** Decimal megabytes, as the artifact-size goal, the bench and the size gate count them. */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Table cells: no pipes or line breaks from free text (notes, reasons). */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function promotedSection(m: ModelVersion): string[] {
  const rows: Array<[string, string]> = [
    ['created', m.createdAt],
    ['promoted', m.promotedAt ?? '-'],
    ['parameters', code(JSON.stringify(m.params))],
    ['features', m.featureNames.join(', ')],
    ['training split', `${m.data.trainFrom} … ${m.data.trainTo}, ${formatNumber(m.data.trainRows, 0)} rows`],
    ['holdout split', `${m.data.testFrom} … ${m.data.testTo}, ${formatNumber(m.data.testRows, 0)} rows`],
    ['holdout MSE', formatNumber(m.metrics.mse)],
    ['holdout MAE', formatNumber(m.metrics.mae)],
    ['holdout R²', formatNumber(m.metrics.r2, 4)],
    ['baseline: line revenue', `MSE ${formatNumber(m.baselines.lineRevenue.mse)}, MAE ${formatNumber(m.baselines.lineRevenue.mae)}`],
    ['baseline: training mean', `MSE ${formatNumber(m.baselines.trainMean.mse)}, MAE ${formatNumber(m.baselines.trainMean.mae)}`],
    ['artifact', `${code(baseName(m.artifact.path))}, ${formatNumber(m.artifact.bytes, 0)} bytes (${megabytes(m.artifact.bytes)})`],
    ['artifact SHA-256', code(m.artifact.sha256)],
    ['note', m.note ? cell(m.note) : '-'],
  ];
  return [
    `### Promoted version: ${code(m.version)}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  ];
}

function versionsSection(models: ModelVersion[], maxVersions: number): string[] {
  if (models.length === 0) return ['### Versions', '', 'No model version is registered yet.'];
  const shown = models.slice(0, maxVersions);
  const lines = [
    `### Versions (${models.length}, newest first)`,
    '',
    '| version | status | created | holdout MAE | holdout MSE | R² | line-revenue MAE | training-mean MAE | train rows | test rows | artifact |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...shown.map((m) => `| ${[
      code(m.version),
      m.status === 'promoted' ? '**promoted**' : m.status,
      m.createdAt,
      formatNumber(m.metrics.mae),
      formatNumber(m.metrics.mse),
      formatNumber(m.metrics.r2, 4),
      formatNumber(m.baselines.lineRevenue.mae),
      formatNumber(m.baselines.trainMean.mae),
      formatNumber(m.data.trainRows, 0),
      formatNumber(m.data.testRows, 0),
      megabytes(m.artifact.bytes),
    ].join(' | ')} |`),
  ];
  const more = models.length - shown.length;
  if (more > 0) lines.push('', `${more} more older version${more === 1 ? '' : 's'} not listed: \`retailflow models list\` shows all.`);
  return lines;
}

function promotionsSection(promotions: PromotionEntry[], maxPromotions: number): string[] {
  if (promotions.length === 0) return [];
  const shown = [...promotions].reverse().slice(0, maxPromotions);
  const lines = [
    '### Promotions (newest first)',
    '',
    '| # | at | action | version | previous | reason |',
    '|---:|---|---|---|---|---|',
    ...shown.map((p) => `| ${[
      p.seq, p.at, p.action, code(p.version), p.previousVersion ? code(p.previousVersion) : '-', p.reason ? cell(p.reason) : '-',
    ].join(' | ')} |`),
  ];
  const more = promotions.length - shown.length;
  if (more > 0) lines.push('', `${more} earlier promotion${more === 1 ? '' : 's'} not listed: \`retailflow models show <version>\` has a version's history.`);
  return lines;
}

function gateSection(gate: GateResult): string[] {
  const verdict = gate.promoted ? 'promoted' : 'not promoted';
  return ['### Latest gate decision', '', `${code(gate.version)}: ${verdict}. ${cell(gate.reason)}`];
}

/** The generated section (without the markers): promoted version, latest gate decision, versions, promotions. */
export function renderModelInfo(snapshot: RegistrySnapshot, opts: { maxVersions?: number; maxPromotions?: number } = {}): string {
  const current = snapshot.models.find((m) => m.status === 'promoted');
  const parts: string[][] = [
    ['<!-- Generated from the model registry (lib/model/model-info.ts); do not edit between the registry markers. -->'],
    current ? promotedSection(current) : ['### Promoted version', '', 'No version is promoted yet.'],
  ];
  if (snapshot.gate) parts.push(gateSection(snapshot.gate));
  parts.push(versionsSection(snapshot.models, opts.maxVersions ?? MAX_VERSIONS));
  const promotions = promotionsSection(snapshot.promotions, opts.maxPromotions ?? MAX_PROMOTIONS);
  if (promotions.length > 0) parts.push(promotions);
  return `${parts.map((p) => p.join('\n')).join('\n\n')}\n`;
}

/** `doc` with the text between the markers replaced by `section`; throws ModelInfoError if the markers are not there once each, in order. */
export function replaceRegistrySection(doc: string, section: string, file = 'the document'): string {
  const count = (marker: string) => doc.split(marker).length - 1;
  const [begins, ends] = [count(REGISTRY_BEGIN), count(REGISTRY_END)];
  const begin = doc.indexOf(REGISTRY_BEGIN);
  const end = doc.indexOf(REGISTRY_END);
  if (begins !== 1 || ends !== 1 || end < begin) {
    throw new ModelInfoError(
      `${file} needs exactly one "${REGISTRY_BEGIN}" followed by one "${REGISTRY_END}" line around the generated registry section ` +
      `(found ${begins} and ${ends}${begins === 1 && ends === 1 ? ', in the wrong order' : ''})`);
  }
  return `${doc.slice(0, begin + REGISTRY_BEGIN.length)}\n${section}${doc.slice(end)}`;
}

export interface ModelInfoWrite {
  path: string;
  /** False when the file already held exactly this section (nothing written). */
  changed: boolean;
  created: boolean;
}

/** Replace the registry section of `file` (or create the file), atomically. */
export function updateModelInfoFile(file: string, section: string): ModelInfoWrite {
  const target = path.resolve(file);
  const exists = fs.existsSync(target);
  const before = exists ? fs.readFileSync(target, 'utf8') : undefined;
  const after = before === undefined ? `${REGISTRY_BEGIN}\n${section}${REGISTRY_END}\n` : replaceRegistrySection(before, section, target);
  if (after === before) return { path: target, changed: false, created: false };
  writeFileAtomicSync(target, after);
  return { path: target, changed: true, created: !exists };
}

/** Read the registry, render, write: what the activity and the CLI do. */
export async function writeModelInfo(wh: Warehouse, file: string, gate?: GateResult): Promise<ModelInfoWrite & { versions: number; promoted: string | null }> {
  const snapshot = await readRegistrySnapshot(wh, gate);
  const result = updateModelInfoFile(file, renderModelInfo(snapshot));
  return { ...result, versions: snapshot.models.length, promoted: snapshot.models.find((m) => m.status === 'promoted')?.version ?? null };
}
