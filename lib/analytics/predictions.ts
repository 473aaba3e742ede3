/**
 * Predicted vs actual order revenue for a day (the seed's "Day 7"), scored with the promoted
 * revenue model (lib/model/registry.ts) and stored next to the daily KPIs.
 *
 * Definitions (docs/analytics.md, "Predicted vs actual order revenue", uses the same words):
 * - the model predicts, from one sale line, the gross revenue of the invoice it belongs to; the
 *   features are the training ones (lib/model/features.ts extractDayLines), so a day is scored the
 *   way the model was trained;
 * - the day's lines are its order lines, loaded and streamed (order_lines, lib/order-lines.ts),
 *   as for the daily KPIs;
 * - an order's predicted revenue: the mean of its lines' predictions (summed in order: loaded
 *   lines in orders_raw key order, then streamed ones by event_id; divided by the line count),
 *   rounded to the penny with Number#toFixed(2), as the stream consumer stores its predictions;
 * - an order's actual revenue: its gross revenue that day, SUM(Quantity x UnitPrice) over its sale
 *   lines, exact NUMERIC (the daily KPIs' rule, so the day's actual total is gross_revenue);
 * - abs_error = |predicted - actual| and totals: exact decimal arithmetic on those strings;
 *   MAE = mean abs_error over the day's orders, rounded half-up to the penny (exact, BigInt).
 *
 * Storage: `order_predictions` (one row per order) and `daily_predictions` (one row per day). A
 * re-run replaces the day's rows, whichever model scored them before. Order rows are written with
 * `upsert` (a load job + MERGE on BigQuery, not streaming inserts), so a later re-run can DELETE
 * them at once; the summary row goes last, so its presence means the day's order rows are complete.
 */
import { RandomForestModel } from '../model/forest';
import { DayLines, extractDayLines } from '../model/features';
import { currentModel, loadArtifact } from '../model/registry';
import type { ModelStore } from '../model/store';
import { canonicalDecimal, decimalToScaled, scaledToDecimal } from '../warehouse/values';
import type { Row, TableDef, Warehouse } from '../warehouse/types';
import { assertIsoDate } from '../dates';
import { divideToPlaces } from './money';

export type PredictionOutcome =
  | {
    status: 'scored';
    modelVersion: string;
    /** Orders (distinct invoices) with at least one sale line that day. */
    orders: number;
    /** Sale lines scored. */
    lines: number;
    /** Mean absolute error per order, exact decimal rounded to the penny. */
    mae: string;
    predictedTotal: string;
    /** Sum of the orders' actual revenue: the day's gross_revenue KPI. */
    actualTotal: string;
  }
  /** The day has order lines but none is a sale (only refunds or zero-price lines): nothing to score. */
  | { status: 'no-sales'; modelVersion: string; reason: string }
  | { status: 'no-model'; reason: string };

export interface PredictionScorer {
  /** Score every order of `date` with the promoted model and store predicted vs actual. */
  scoreDay(date: string): Promise<PredictionOutcome>;
}

export const NO_MODEL_REASON = 'no promoted revenue model is registered';

export const NO_SCORER: PredictionScorer = {
  async scoreDay(): Promise<PredictionOutcome> {
    return { status: 'no-model', reason: NO_MODEL_REASON };
  },
};

export const ORDER_PREDICTIONS: TableDef = {
  name: 'order_predictions',
  columns: [
    { name: 'invoice_date', type: 'DATE' },
    { name: 'invoice_no', type: 'STRING' },
    { name: 'model_version', type: 'STRING' },
    { name: 'lines', type: 'INT64' },
    { name: 'predicted_revenue', type: 'NUMERIC' },
    { name: 'actual_revenue', type: 'NUMERIC' },
    { name: 'abs_error', type: 'NUMERIC' },
    { name: 'scored_at', type: 'TIMESTAMP' },
  ],
  key: ['invoice_date', 'invoice_no'],
  partitionBy: 'invoice_date',
};

export const DAILY_PREDICTIONS: TableDef = {
  name: 'daily_predictions',
  columns: [
    { name: 'report_date', type: 'DATE' },
    { name: 'model_version', type: 'STRING' },
    { name: 'orders', type: 'INT64' },
    { name: 'lines', type: 'INT64' },
    /** NULL on a day without sale lines. */
    { name: 'mae', type: 'NUMERIC', nullable: true },
    { name: 'predicted_total', type: 'NUMERIC' },
    { name: 'actual_total', type: 'NUMERIC' },
    { name: 'scored_at', type: 'TIMESTAMP' },
  ],
  key: ['report_date'],
  partitionBy: 'report_date',
};

export const PREDICTION_TABLES: readonly TableDef[] = [ORDER_PREDICTIONS, DAILY_PREDICTIONS];

export interface OrderPrediction {
  invoiceNo: string;
  lines: number;
  /** Decimal text, to the penny. */
  predicted: string;
  /** Exact decimal text. */
  actual: string;
  absError: string;
}

export interface DayScores {
  orders: OrderPrediction[];
  lines: number;
  mae: string;
  predictedTotal: string;
  actualTotal: string;
}

// NUMERIC's scale on both backends: every value here fits exactly.
const SCALE = 9;

/**
 * Per-order predictions from per-line predictions. Pure: `day.invoiceNo` must keep an invoice's
 * lines adjacent (extractDayLines orders them so), `linePredictions` is one float per line.
 */
export function scoreOrders(day: Pick<DayLines, 'rows' | 'invoiceNo' | 'invoiceTotal'>, linePredictions: ArrayLike<number>): DayScores {
  if (linePredictions.length !== day.rows) throw new Error(`expected ${day.rows} line predictions, got ${linePredictions.length}`);
  const orders: OrderPrediction[] = [];
  let absSum = 0n;
  let predictedSum = 0n;
  let actualSum = 0n;
  for (let start = 0; start < day.rows;) {
    const invoiceNo = day.invoiceNo[start];
    let end = start;
    let sum = 0;
    while (end < day.rows && day.invoiceNo[end] === invoiceNo) sum += linePredictions[end++];
    const lines = end - start;
    const predicted = (sum / lines).toFixed(2);
    if (!/^-?\d+\.\d{2}$/.test(predicted)) throw new Error(`prediction for invoice ${invoiceNo} is not a finite amount: ${predicted}`);
    const actual = canonicalDecimal(day.invoiceTotal[start]);
    const p = decimalToScaled(predicted, SCALE);
    const a = decimalToScaled(actual, SCALE);
    const err = p >= a ? p - a : a - p;
    orders.push({ invoiceNo, lines, predicted: canonicalDecimal(predicted), actual, absError: scaledToDecimal(err, SCALE) });
    absSum += err;
    predictedSum += p;
    actualSum += a;
    start = end;
  }
  return {
    orders,
    lines: day.rows,
    mae: divideToPlaces(scaledToDecimal(absSum, SCALE), orders.length, 2),
    predictedTotal: scaledToDecimal(predictedSum, SCALE),
    actualTotal: scaledToDecimal(actualSum, SCALE),
  };
}

/** The model's feature matrix from a day's six extracted features, by name (any subset, any order). */
export function modelFeatures(model: Pick<RandomForestModel, 'featureNames'>, day: Pick<DayLines, 'rows' | 'features' | 'nFeatures' | 'featureNames'>): Float64Array {
  const cols = model.featureNames.map((name) => {
    const at = day.featureNames.indexOf(name);
    if (at < 0) throw new Error(`the model uses a feature the daily scorer cannot compute: ${name}`);
    return at;
  });
  if (cols.length === day.nFeatures && cols.every((c, i) => c === i)) return day.features;
  const out = new Float64Array(day.rows * cols.length);
  for (let r = 0; r < day.rows; r++) {
    for (let j = 0; j < cols.length; j++) out[r * cols.length + j] = day.features[r * day.nFeatures + cols[j]];
  }
  return out;
}

/**
 * The scorer the worker uses: the promoted model from the registry and `store`, loaded once per
 * version and kept until another version is promoted (a 300-day backfill loads the artifact once;
 * concurrent days share the one load). Errors loading the artifact (missing, corrupt) propagate, so
 * the activity retries and then fails visibly rather than reporting a day as unscored.
 */
export class WarehousePredictionScorer implements PredictionScorer {
  private cached: { version: string; model: Promise<RandomForestModel> } | undefined;

  constructor(private readonly warehouse: Warehouse, private readonly store: ModelStore) {}

  async scoreDay(date: string): Promise<PredictionOutcome> {
    assertIsoDate(date);
    const promoted = await currentModel(this.warehouse);
    if (!promoted) return { status: 'no-model', reason: NO_MODEL_REASON };
    const modelVersion = promoted.version;
    const model = await this.model(modelVersion);
    const day = await extractDayLines(this.warehouse, date);
    const scoredAt = new Date();
    if (day.rows === 0) {
      await storeDayScores(this.warehouse, date, modelVersion, undefined, scoredAt);
      return { status: 'no-sales', modelVersion, reason: `no sale lines on ${date}: nothing to score` };
    }
    const scores = scoreOrders(day, model.predictMany(modelFeatures(model, day), day.rows));
    await storeDayScores(this.warehouse, date, modelVersion, scores, scoredAt);
    return {
      status: 'scored',
      modelVersion,
      orders: scores.orders.length,
      lines: scores.lines,
      mae: scores.mae,
      predictedTotal: scores.predictedTotal,
      actualTotal: scores.actualTotal,
    };
  }

  private model(version: string): Promise<RandomForestModel> {
    if (this.cached?.version !== version) {
      const entry = {
        version,
        model: loadArtifact(this.warehouse, this.store, version).then((bytes) => RandomForestModel.loadCompiled(bytes)),
      };
      // A failed load is not cached: the next call (an activity retry) tries again.
      entry.model.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
      this.cached = entry;
    }
    return this.cached.model;
  }
}

export function createPredictionScorer(warehouse: Warehouse, store: ModelStore): PredictionScorer {
  return new WarehousePredictionScorer(warehouse, store);
}

/** Replace the day's rows: order rows (none without sales), then the summary row. */
export async function storeDayScores(wh: Warehouse, date: string, modelVersion: string, scores: DayScores | undefined, scoredAt: Date): Promise<void> {
  await wh.ensureSchema(PREDICTION_TABLES);
  await wh.execute(`DELETE FROM ${ORDER_PREDICTIONS.name} WHERE invoice_date = CAST(@date AS DATE)`, { date });
  const rows: Row[] = (scores?.orders ?? []).map((o) => ({
    invoice_date: date,
    invoice_no: o.invoiceNo,
    model_version: modelVersion,
    lines: o.lines,
    predicted_revenue: o.predicted,
    actual_revenue: o.actual,
    abs_error: o.absError,
    scored_at: scoredAt,
  }));
  await wh.upsert(ORDER_PREDICTIONS, rows);
  await wh.upsert(DAILY_PREDICTIONS, [{
    report_date: date,
    model_version: modelVersion,
    orders: scores?.orders.length ?? 0,
    lines: scores?.lines ?? 0,
    mae: scores?.mae ?? null,
    predicted_total: scores?.predictedTotal ?? '0',
    actual_total: scores?.actualTotal ?? '0',
    scored_at: scoredAt,
  }]);
}
