/**
 * Predicted vs actual order revenue for a day (the seed's "Day 7"). The revenue model and its
 * registry arrive with the model issue; until a model is promoted, daily runs report why there is
 * no comparison and still succeed. The model issue provides a `PredictionScorer` to the activities.
 */
export type PredictionOutcome =
  | { status: 'scored'; modelVersion: string; orders: number; mae: string }
  | { status: 'no-model'; reason: string };

export interface PredictionScorer {
  /** Score every order of `date` with the promoted model and store predicted vs actual. */
  scoreDay(date: string): Promise<PredictionOutcome>;
}

export const NO_SCORER: PredictionScorer = {
  async scoreDay(): Promise<PredictionOutcome> {
    return { status: 'no-model', reason: 'no promoted revenue model is registered' };
  },
};
