/**
 * How to start the local stand-ins for Google Cloud: one spec per emulator, shared by the
 * one-command stack and the test root hook so both run them the same way.
 */
import type { ChildSpec } from './process/supervisor';
import { toolPath } from './tools';

export function pubsubEmulatorSpec(host: string, port: number, env: NodeJS.ProcessEnv = process.env): ChildSpec {
  return {
    name: 'pubsub-emulator',
    command: toolPath('pubsub-emulator'),
    args: ['--host', host, '--port', String(port)],
    env,
    readiness: [{ type: 'logLine', pattern: /pubsub-emulator listening on/ }, { type: 'tcp', host, port }],
    readyTimeoutMs: 30_000,
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
