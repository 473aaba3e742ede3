/** A real Temporal worker for integration tests, on the root hook's dev server. */
import { bundleWorkflowCode, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createPredictionScorer } from '../../lib/analytics/predictions';
import { FileModelStore } from '../../lib/model/store';
import * as path from 'node:path';
import { Config, loadConfig } from '../../lib/config';
import type { Warehouse } from '../../lib/warehouse/types';
import { services, testEventBus } from '../hooks';

export const silentLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined,
  error: console.error,
};

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

function testConfig(opts: { dataDir: string; modelStoreDir?: string }): Config {
  const config = loadConfig();
  const model = { ...config.model, storeDir: opts.modelStoreDir ?? path.join(opts.dataDir, 'models'), infoPath: path.join(opts.dataDir, 'model_info.md') };
  return { ...config, dataDir: opts.dataDir, model };
}

/** Workflows are bundled once per test run, not once per worker. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: silentLogger });
  return bundle;
}

export interface TestWorker {
  taskQueue: string;
  stop(): Promise<void>;
}

/**
 * Start a worker on a unique task queue with the real activities over `warehouse`, including the
 * real prediction scorer over the model store (`modelStoreDir`, default `<dataDir>/models`).
 */
export async function startTestWorker(opts: { warehouse: Warehouse; dataDir: string; name: string; modelStoreDir?: string }): Promise<TestWorker> {
  const config = testConfig(opts);
  const taskQueue = `test-${opts.name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const worker = await Worker.create({
    connection: services().temporal.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ warehouse: opts.warehouse, config, eventBus: testEventBus(), scorer: createPredictionScorer(opts.warehouse, new FileModelStore(config.model.storeDir)) }),
    maxConcurrentActivityTaskExecutions: 16,
  });
  const running = worker.run();
  return {
    taskQueue,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}
