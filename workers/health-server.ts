/**
 * The worker's health endpoint for the supervisor and orchestrators: `GET /health` is 200 while
 * the Temporal worker is RUNNING and 503 before (bundling, connecting) and after (draining, stopped).
 */
import { startProbeServer, type ProbeServer } from '../lib/http/probe-server';

export interface WorkerHealth {
  status: 'healthy' | 'unhealthy';
  taskQueue: string;
  /** The SDK worker state, or STARTING before the worker exists. */
  workerState: string;
}

export function startHealthServer(options: {
  host: string;
  port: number;
  taskQueue: string;
  workerState: () => string;
}): Promise<ProbeServer> {
  return startProbeServer({
    host: options.host,
    port: options.port,
    routes: {
      '/health': () => {
        const workerState = options.workerState();
        const healthy = workerState === 'RUNNING';
        const body: WorkerHealth = { status: healthy ? 'healthy' : 'unhealthy', taskQueue: options.taskQueue, workerState };
        return { status: healthy ? 200 : 503, body };
      },
    },
  });
}
