/** Fakes for what cannot or need not run in a unit test. */
import { Client, type ConnectionLike } from '@temporalio/client';

/** A Temporal client over a fake connection whose GetSystemInfo does what the test says. */
export function fakeTemporal(getSystemInfo: () => Promise<object> = async () => ({})): Client {
  const connection = {
    workflowService: { getSystemInfo },
    operatorService: {},
    plugins: [],
    close: async () => undefined,
    ensureConnected: async () => undefined,
    withDeadline: <R>(_deadline: number | Date, fn: () => Promise<R>) => fn(),
    withMetadata: <R>(_metadata: unknown, fn: () => Promise<R>) => fn(),
    withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
  } as unknown as ConnectionLike;
  return new Client({ connection, namespace: 'test-namespace' });
}

