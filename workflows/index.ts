// Workflows are exported one by one (no `export *` barrels: they hide functions from the bundle).
export { ingestWorkflow } from './ingest';
export { dailyAnalyticsWorkflow } from './analytics';
export { backfillWorkflow } from './backfill';
export { dataQualityWorkflow } from './quality';
export { trainingWorkflow } from './training';
export { intradayRefreshWorkflow } from './intraday';
