/** One Temporal connection per command or process, with a one-line error when the server is not there. */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../lib/config';
import { DependencyUnavailableError } from '../lib/errors';
import { describeTemporalSecurity, temporalConnectionOptions } from '../lib/temporal/connection-options';

export async function connectClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  const options = temporalConnectionOptions(config.temporal.address, config.temporal.security);
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (err) {
    throw new DependencyUnavailableError(
      `Temporal not reachable at ${config.temporal.address} over ${describeTemporalSecurity(options)} (${(err as Error).message}): is the platform running (npm start)? Or set TEMPORAL_ADDRESS`,
    );
  }
  return { client: new Client({ connection, namespace: config.temporal.namespace }), close: () => connection.close() };
}

export async function withTemporalClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

/** The run's page in the Temporal Web UI. */
export function uiLink(config: Config, workflowId: string): string {
  return `http://${config.temporal.uiHost}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}
