/**
 * A tiny HTTP server for the supervisor and orchestrators: `GET /health` is 200 while the Temporal
 * worker is RUNNING and 503 before (bundling, connecting) and after (draining, stopped).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WorkerHealth {
  status: 'healthy' | 'unhealthy';
  taskQueue: string;
  /** The SDK worker state, or STARTING before the worker exists. */
  workerState: string;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: {
  host: string;
  port: number;
  taskQueue: string;
  workerState: () => string;
}): Promise<HealthServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/health') {
      send(response, 404, { message: 'Not Found' });
      return;
    }
    const workerState = options.workerState();
    const healthy = workerState === 'RUNNING';
    const body: WorkerHealth = { status: healthy ? 'healthy' : 'unhealthy', taskQueue: options.taskQueue, workerState };
    send(response, healthy ? 200 : 503, body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(response: http.ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  response.end(JSON.stringify(body));
}
