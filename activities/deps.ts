/** What every activity factory is given: injected, so tests can pass a throwaway warehouse or bus. */
import type { PredictionScorer } from '../lib/analytics/predictions';
import type { Config } from '../lib/config';
import type { EventBus } from '../lib/eventbus/types';
import type { Warehouse } from '../lib/warehouse/types';

export interface ActivityDeps {
  warehouse: Warehouse;
  config: Config;
  eventBus: EventBus;
  /** Scores each day with the promoted model (workers pass createPredictionScorer); without it daily runs report "no-model". */
  scorer?: PredictionScorer;
}
