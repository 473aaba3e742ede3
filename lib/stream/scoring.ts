/**
 * Per-line model scoring in the consumer. The revenue model and its registry come with the model
 * issue; it provides a `LineScorer` built on the same promoted model and code path as the API's
 * predictions, and the consumer calls it in process (see docs/streaming.md, "Scoring").
 * Until then the consumer runs with `NO_LINE_SCORER`: predictions are NULL and /health says why.
 */
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
