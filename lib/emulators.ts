/**
 * How to start the local stand-ins for Google Cloud: one spec per emulator, shared by the
 * one-command stack and the test root hook so both run them the same way.
 */
import type { ChildSpec } from './process/supervisor';
import { searchAttributeCliArgs } from './temporal/search-attributes';
import { toolPath } from './tools';

const PUBSUB_LISTENING = /pubsub-emulator listening on (\S+):(\d+)/;

/** With a journal file, topics, subscriptions and unacked messages survive a restart (tools/pubsub-emulator/journal.go). */
export function pubsubEmulatorArgs(host: string, port: number, journal?: string): string[] {
  return ['--host', host, '--port', String(port), ...(journal ? ['--journal', journal] : [])];
}

/** Port 0: the emulator binds a port the kernel picks (no race with other processes) and reports it; see pubsubEmulatorPort. */
export function pubsubEmulatorSpec(host: string, port: number, env: NodeJS.ProcessEnv = process.env, journal?: string): ChildSpec {
  return {
    name: 'pubsub-emulator',
    command: toolPath('pubsub-emulator'),
    args: pubsubEmulatorArgs(host, port, journal),
    env,
    readiness: [{ type: 'logLine', pattern: PUBSUB_LISTENING }, ...(port > 0 ? [{ type: 'tcp' as const, host, port }] : [])],
    readyTimeoutMs: 30_000,
    stopGraceMs: 5_000,
  };
}

/** The port in the emulator's "pubsub-emulator listening on HOST:PORT" line (what it bound with --port 0). */
export function pubsubEmulatorPort(output: string): number {
  const match = PUBSUB_LISTENING.exec(output);
  if (!match) throw new Error(`the Pub/Sub emulator did not report its address; its output:\n${output.slice(-2_000)}`);
  return Number(match[2]);
}

/**
 * A Temporal dev server for tests: headless, in memory, the project's search attributes, and the
 * settings the SDK's own test environment (TestWorkflowEnvironment.createLocal) uses. Started by our
 * supervisor so that a port taken in between is noticed ("address already in use" in its output)
 * and retried on another port; createLocal waits forever in that case.
 */
export function temporalTestServerSpec(host: string, port: number, env: NodeJS.ProcessEnv = process.env): ChildSpec {
  return {
    name: 'temporal',
    command: toolPath('temporal'),
    args: [
      'server', 'start-dev', '--headless',
      '--ip', host, '--port', String(port),
      '--namespace', 'default',
      ...searchAttributeCliArgs(),
      '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
      '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
      '--log-format', 'json', '--log-level', 'error',
    ],
    env,
    // Printed once the server is up ("Temporal Server:      localhost:PORT").
    readiness: [{ type: 'logLine', pattern: /Temporal Server:/ }, { type: 'tcp', host, port }],
    readyTimeoutMs: 60_000,
    stopGraceMs: 5_000,
  };
}

/** goccy/bigquery-emulator: REST on `port` (what @google-cloud/bigquery uses), gRPC on `grpcPort`. */
export function bigqueryEmulatorSpec(
  host: string,
  port: number,
  grpcPort: number,
  opts: { project?: string; env?: NodeJS.ProcessEnv } = {},
): ChildSpec {
  const project = opts.project ?? 'retailflow-local';
  // Both ports explicit: the gRPC one would otherwise default to 9060 and collide between runs.
  const args = ['--host', host, '--port', String(port), '--grpc-port', String(grpcPort), '--project', project, '--log-level', 'warn'];
  return {
    name: 'bigquery-emulator',
    command: toolPath('bigquery-emulator'),
    args,
    env: opts.env ?? process.env,
    readiness: [{ type: 'http', url: `http://${host}:${port}/bigquery/v2/projects/${project}/datasets` }],
    readyTimeoutMs: 60_000,
    stopGraceMs: 5_000,
  };
}
