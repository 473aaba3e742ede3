/**
 * The promoted model as the API and the stream consumer serve it: loaded from the registry and
 * the model store, checked against its recorded SHA-256, and swapped atomically when another
 * version is promoted (polled, so a promotion is live within one interval, with no restart and no
 * failed request: requests use whichever model object they started with).
 */
import type { Warehouse } from '../warehouse/types';
import { RandomForestModel } from './forest';
import { currentModel, loadArtifact } from './registry';
import type { ModelStore } from './store';
import { withoutHandoff } from '../warehouse/duckdb-handoff';

export interface LoadedModel {
  version: string;
  model: RandomForestModel;
  loadedAt: Date;
}

/** One order line as /predict accepts it (the seed's four fields, plus two optional ones). */
export interface PredictionInput {
  Quantity: number;
  UnitPrice: number;
  Hour: number;
  DayOfWeek: number;
  /** Default: United Kingdom, 91% of the data's lines. */
  Country?: string;
  /** Default: a known customer, 75% of the data's lines. */
  CustomerID?: number | null;
}

/** The feature vector in the model's own feature order; unknown feature names fail loudly. */
export function featureVector(model: RandomForestModel, input: PredictionInput, out = new Float64Array(model.featureNames.length)): Float64Array {
  model.featureNames.forEach((name, i) => {
    out[i] = featureValue(name, input);
  });
  return out;
}

function featureValue(name: string, input: PredictionInput): number {
  switch (name) {
    case 'quantity': return input.Quantity;
    case 'unit_price': return input.UnitPrice;
    case 'hour': return input.Hour;
    case 'day_of_week': return input.DayOfWeek;
    case 'is_uk': return input.Country === undefined || input.Country === 'United Kingdom' ? 1 : 0;
    case 'customer_known': return input.CustomerID === null ? 0 : 1;
    default: throw new Error(`the model uses a feature this server cannot compute: ${name}`);
  }
}

export class ServingModel {
  private loaded: LoadedModel | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  lastError: string | undefined;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly store: ModelStore,
    private readonly onSwap: (m: LoadedModel) => void = () => undefined,
  ) {}

  current(): LoadedModel | undefined {
    return this.loaded;
  }

  /** Load the promoted version if it differs from the one being served; keeps the old one on error. */
  refresh(): Promise<void> {
    // A background poll: it waits for a busy DuckDB file rather than making its holder step aside.
    this.refreshing ??= withoutHandoff(() => this.loadPromoted()).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async loadPromoted(): Promise<void> {
    try {
      const promoted = await currentModel(this.warehouse);
      // A check that got through clears an earlier failure (a DuckDB file lock held by another
      // process for a moment, say): /health must say what is true now, not what failed once.
      this.lastError = undefined;
      if (!promoted) {
        this.loaded = undefined;
        return;
      }
      if (promoted.version === this.loaded?.version) return;
      // Compiled before the swap and off the event loop (0.3-0.5 s of CPU), so no request waits for it.
      const model = await RandomForestModel.loadCompiled(await loadArtifact(this.warehouse, this.store, promoted.version));
      this.loaded = { version: promoted.version, model, loadedAt: new Date() };
      this.onSwap(this.loaded);
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
    }
  }
}

/** Minimal shape of a stream line the scorer needs (lib/stream/message.ts ValidLine has it). */
export interface ScorableLine {
  quantity: number;
  unitPrice: string;
  invoiceTs: string;
  country: string;
  customerId: number | null;
}

/** The same features /predict computes, from a stored-order line: hour and weekday of its timestamp. */
export function lineToPredictionInput(line: ScorableLine): PredictionInput {
  const ts = new Date(line.invoiceTs);
  return {
    Quantity: line.quantity,
    UnitPrice: Number(line.unitPrice),
    Hour: ts.getUTCHours(),
    DayOfWeek: (ts.getUTCDay() + 6) % 7, // JS: 0 = Sunday; ours: 0 = Monday
    Country: line.country,
    CustomerID: line.customerId,
  };
}
