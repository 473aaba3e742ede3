/** `npm run build` step: bundle the workflow code once (lib/temporal/workflow-bundle.ts says why). */
import { writeWorkflowBundle } from '../lib/temporal/workflow-bundle';

const started = Date.now();
writeWorkflowBundle()
  .then(({ file, bytes }) => console.log(`workflow bundle: ${file} (${(bytes / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(1)} s)`))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
