/**
 * The stream consumer process: orders subscription -> validation, dedupe, scoring -> orders_stream.
 * Started by `npm start` (scripts/stack.ts) as `node dist/workers/consumer.js`; configured by env
 * only (STREAM_* in .env.example, docs/streaming.md).
 *
 * HTTP, on two ports like the worker:
 *   STREAM_HEALTH_PORT  GET /health (200 while pulling, 503 when starting, draining or failing to
 *                       write; says whether a model scores lines), GET /stats (durable totals)
 *   STREAM_METRICS_PORT GET /metrics (Prometheus)
 * SIGTERM/SIGINT: stop pulling (new deliveries are nacked), write and ack what is buffered, close
 * the subscription (flushing acks), then exit 0 with nothing in flight.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { applyLocalModeDefaults, loadConfig } from '../lib/config';
import { startProbeServer } from '../lib/http/probe-server';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import { streamTotals } from '../lib/stream/accounting';
import { StreamConsumer, type LogFn } from '../lib/stream/consumer';
import { DEFAULT_LIMITS } from '../lib/stream/message';
import { createPubSubSource } from '../lib/stream/pubsub-source';
import { servingModelScorer, type LineScorer } from '../lib/stream/scoring';
import { ServingModel } from '../lib/model/serving';
import { FileModelStore } from '../lib/model/store';
import { ensureStreamTopology } from '../lib/stream/topology';
import { openWarehouse } from '../lib/warehouse';

/** After this the process exits even if the drain is stuck (a warehouse that never comes back). */
const DRAIN_TIMEOUT_MS = 25_000;

const log: LogFn = (level, msg, fields = {}) => {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
};

async function run(): Promise<void> {
  applyLocalModeDefaults();
  const config = loadConfig();
  const sc = config.stream;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // DuckDB: release the file as soon as a micro-batch is written, so the worker, the API and the
  // CLI can take the lock between batches while a stream runs (the adapter's default holds it for
  // 1 s after the last operation, which a steady stream never reaches).
  const warehouse = await openWarehouse(config, { duckdbIdleCloseMs: sc.duckdbReleaseMs });
  // The promoted model, reloaded like the API's: the same version and code path as /predict.
  const serving = new ServingModel(warehouse, new FileModelStore(config.model.storeDir));
  await serving.refresh();
  serving.start(config.model.reloadIntervalMs);
  const scorer: LineScorer = servingModelScorer(serving);
  const bus = createPubSubEventBus({ projectId: config.pubsub.projectId, emulatorHost: config.pubsub.emulatorHost });
  const source = createPubSubSource({
    projectId: config.pubsub.projectId,
    emulatorHost: config.pubsub.emulatorHost,
    subscription: sc.subscription,
    deadLetterTopic: sc.deadLetterTopic,
    maxMessages: sc.maxInFlight,
    log,
  });
  const consumer = new StreamConsumer({
    warehouse,
    deadLetter: source.deadLetter,
    scorer,
    batchSize: sc.batchSize,
    maxBatchWaitMs: sc.batchWaitMs,
    highValueThreshold: sc.highValueThreshold,
    limits: { ...DEFAULT_LIMITS, maxBytes: sc.maxMessageBytes },
    registry,
    log,
  });

  let state: 'STARTING' | 'RUNNING' | 'DRAINING' = 'STARTING';
  const health = await startProbeServer({
    host: sc.healthHost,
    port: sc.healthPort,
    routes: {
      '/health': () => {
        const healthy = state === 'RUNNING' && consumer.error === undefined;
        return {
          status: healthy ? 200 : 503,
          body: {
            status: healthy ? 'healthy' : 'unhealthy',
            state,
            subscription: sc.subscription,
            warehouse: warehouse.backend,
            model: scorer.status(),
            inFlight: consumer.inFlight,
            counts: consumer.counts,
            ...(consumer.error ? { error: consumer.error } : {}),
          },
        };
      },
      '/stats': async () => ({ status: 200, body: { totals: await streamTotals(warehouse), process: consumer.counts } }),
    },
  });
  const metrics = await startProbeServer({
    host: sc.metricsHost,
    port: sc.metricsPort,
    routes: { '/metrics': async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }) },
  });

  await ensureStreamTopology(bus, sc);
  await bus.close();
  await consumer.ensureSchema();
  source.start(consumer);
  state = 'RUNNING';
  const model = scorer.status();
  log('info', 'consumer running', {
    subscription: sc.subscription, warehouse: warehouse.backend, batchSize: sc.batchSize, maxInFlight: sc.maxInFlight,
    highValueThreshold: sc.highValueThreshold, model: model.status === 'ready' ? model.modelVersion : `none (${model.reason})`,
  });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  });
  state = 'DRAINING';
  log('info', `${signal}: draining`, { inFlight: consumer.inFlight });
  const force = setTimeout(() => {
    log('error', 'drain timed out; exiting with messages unacked (they will be redelivered)', { inFlight: consumer.inFlight });
    process.exit(1);
  }, DRAIN_TIMEOUT_MS);
  await consumer.drain();
  serving.stop();
  await source.close();
  await warehouse.close();
  await health.close();
  await metrics.close();
  clearTimeout(force);
  log('info', 'consumer stopped', { counts: consumer.counts, inFlight: consumer.inFlight });
}

run().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
