/** Temporal client plumbing for CLI commands: one connection per command, clear errors. */
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Config } from '../../lib/config';

export class CliError extends Error {
  override readonly name = 'CliError';
}

export async function withTemporalClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}); start the platform with "npm start" or set TEMPORAL_ADDRESS`,
    );
  }
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

/** The innermost failure message of a failed workflow: that is what the user can act on. */
export function rootCauseMessage(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

export function uiLink(config: Config, workflowId: string): string {
  return `http://${config.temporal.uiHost}:${config.temporal.uiPort}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}
