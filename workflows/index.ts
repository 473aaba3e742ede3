// Workflows are exported one by one (no `export *` barrels: they hide functions from the bundle).
export { ingestWorkflow } from './ingest';
