/**
 * The worker process: polls the retailflow task queue and runs workflows and activities.
 * Started by `npm start` (scripts/stack.ts) as `node dist/workers/main.js`; configured by env only.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createPredictionScorer } from '../lib/analytics/predictions';
import { applyLocalModeDefaults, loadConfig } from '../lib/config';
import { installRuntime } from '../lib/temporal/runtime';
import { prebuiltWorkflowBundle } from '../lib/temporal/workflow-bundle';
import { temporalConnectionOptions } from '../lib/temporal/connection-options';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import { FileModelStore } from '../lib/model/store';
import { openWarehouse } from '../lib/warehouse';
import { startHealthServer } from './health-server';

// In-flight activities get this long to finish after SIGTERM/SIGINT (the SDK default, 0, kills them at once).
const SHUTDOWN_GRACE_TIME = '30s';
// After this the worker gives up on a clean drain, so a stuck activity cannot block exit forever.
const SHUTDOWN_FORCE_TIME = '45s';
// The SDK sends at most one heartbeat per 80% of the heartbeat timeout, capped at 60 s: training
// (one heartbeat per tree, 2 min timeout) would show no progress in the Web UI or `models train`
// for a minute. Every 2 s is live enough and cheap (only long activities heartbeat).
const HEARTBEAT_THROTTLE = '2s';

async function run(): Promise<void> {
  applyLocalModeDefaults();
  const config = loadConfig();
  // Step 1: the runtime before anything else that touches the SDK (it owns metrics, logging and signals).
  installRuntime({
    logLevel: config.logLevel,
    prometheusBindAddress: `${config.worker.metricsHost}:${config.worker.metricsPort}`,
  });

  let worker: Worker | undefined;
  const health = await startHealthServer({
    host: config.worker.healthHost,
    port: config.worker.healthPort,
    taskQueue: config.temporal.taskQueue,
    workerState: () => worker?.getState() ?? 'STARTING',
  });
  const warehouse = await openWarehouse(config);
  const eventBus = createPubSubEventBus({ projectId: config.pubsub.projectId, emulatorHost: config.pubsub.emulatorHost });
  let connection: NativeConnection | undefined;
  try {
    // Step 2: connect to the Temporal frontend.
    connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal.address, config.temporal.security));
    // Step 3: create the worker (with the prebuilt workflow bundle when it is current) and run it until a shutdown signal.
    const bundle = prebuiltWorkflowBundle();
    if ('stale' in bundle) console.warn(`[worker] bundling workflows at start: ${bundle.stale}`);
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      ...('codePath' in bundle ? { workflowBundle: bundle } : { workflowsPath: require.resolve('../workflows') }),
      // The daily workflow scores each day with the promoted revenue model (loaded once per version).
      activities: createActivities({ warehouse, config, eventBus, scorer: createPredictionScorer(warehouse, new FileModelStore(config.model.storeDir)) }),
      shutdownGraceTime: SHUTDOWN_GRACE_TIME,
      maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
      shutdownForceTime: SHUTDOWN_FORCE_TIME,
    });
    await worker.run();
  } finally {
    await connection?.close();
    await eventBus.close();
    await warehouse.close();
    await health.close();
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
