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
