/**
 * Per-line model scoring in the consumer: in process, with the same promoted model and the same
 * feature code as the API's /predict (lib/model/serving.ts), hot-reloaded the same way
 * (see docs/streaming.md, "Scoring"). Without a promoted model, predictions are NULL and /health
 * says why.
 */
import { featureVector, lineToPredictionInput, ServingModel } from '../model/serving';
import type { ValidLine } from './message';

export type ScorerStatus = { status: 'ready'; modelVersion: string } | { status: 'no-model'; reason: string };

export interface LineScores {
  /** The model version that produced every prediction of this call; null without a model. */
  modelVersion: string | null;
  /** One exact decimal string (predicted revenue) per input line, same order; null when unscored. */
  predictions: (string | null)[];
}

export interface LineScorer {
  status(): ScorerStatus;
  /** Score a micro-batch. Must not throw for a single odd line; throw only if the model is unusable. */
  scoreLines(lines: readonly ValidLine[]): Promise<LineScores>;
}

export const NO_LINE_SCORER: LineScorer = {
  status: () => ({ status: 'no-model', reason: 'no promoted revenue model is registered: predictions are stored as NULL' }),
  scoreLines: async (lines) => ({ modelVersion: null, predictions: lines.map(() => null) }),
};

/** Scores with whatever model `serving` holds at the start of each micro-batch. */
export function servingModelScorer(serving: ServingModel): LineScorer {
  return {
    status: () => {
      const loaded = serving.current();
      return loaded ? { status: 'ready', modelVersion: loaded.version } : { status: 'no-model', reason: serving.lastError ?? 'no promoted revenue model is registered: predictions are stored as NULL' };
    },
    scoreLines: async (lines) => {
      const loaded = serving.current();
      if (!loaded) return NO_LINE_SCORER.scoreLines(lines);
      const x = new Float64Array(loaded.model.featureNames.length);
      const predictions = lines.map((line) => loaded.model.predictOne(featureVector(loaded.model, lineToPredictionInput(line), x)).toFixed(2));
      return { modelVersion: loaded.version, predictions };
    },
  };
}
