/**
 * Mocha root hooks: start the real services once for the whole run, on free loopback ports, and
 * stop them afterwards. Integration tests read the addresses from `services` or the standard env
 * vars (PUBSUB_EMULATOR_HOST, BIGQUERY_EMULATOR_HOST). Set RETAILFLOW_TEST_SERVICES=none for a
 * unit-only run that starts nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bigqueryEmulatorSpec, pubsubEmulatorPort, pubsubEmulatorSpec, temporalTestServerSpec } from '../lib/emulators';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import type { EventBus } from '../lib/eventbus/types';
import { Supervisor, withFreePorts } from '../lib/process/supervisor';
import { blockedAttempts, installNetworkGuard } from './support/network-guard';

process.env.METADATA_SERVER_DETECTION = 'none';
// A developer's running stack (npm start writes run/stack.env) must never leak into a test run.
process.env.RETAILFLOW_STACK_ENV = 'none';
// Training runs regenerate the model doc; tests (and the workers they spawn) must never touch the repository's.
process.env.MODEL_INFO_PATH ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-model-info-')), 'model_info.md');
installNetworkGuard();

export interface TestServices {
  temporal: TestWorkflowEnvironment;
  pubsubHost: string;
  bigqueryHost: string;
  /** Logs of the emulators, for post-mortems. */
  logDir: string;
}

let started: TestServices | undefined;
let eventBus: EventBus | undefined;

export const TEST_PUBSUB_PROJECT = 'retailflow-test';

/** One event bus on the emulator for the whole run, closed by the root hook. */
export function testEventBus(): EventBus {
  eventBus ??= createPubSubEventBus({ projectId: TEST_PUBSUB_PROJECT, emulatorHost: services().pubsubHost });
  return eventBus;
}
let supervisor: Supervisor | undefined;

/** The running services; throws in a unit-only run. */
export function services(): TestServices {
  if (!started) throw new Error('test services are not running (RETAILFLOW_TEST_SERVICES=none?)');
  return started;
}

/**
 * A port picked free can be taken by another process before the server binds it (other test runs
 * share the machine). The Pub/Sub emulator binds port 0 and reports its port; the others start
 * again on new ports when their output says "address already in use" (withFreePorts).
 */
async function startServices(): Promise<TestServices> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-test-'));
  const sup = (supervisor = new Supervisor({ logDir, stopGraceMs: 5_000 }));
  const onRetry = (name: string) => (err: unknown) => console.warn(`[test hooks] ${name}: a port was taken, retrying on another: ${String(err).split('\n')[0]}`);
  const temporalStart = withFreePorts(1, async ([port]) => (await sup.start(temporalTestServerSpec('127.0.0.1', port)), port), { onRetry: onRetry('temporal') });
  const pubsubStart = sup.start(pubsubEmulatorSpec('127.0.0.1', 0)).then(() => pubsubEmulatorPort(sup.outputOf('pubsub-emulator')));
  const bigqueryStart = withFreePorts(
    2,
    async ([port, grpcPort]) => (await sup.start(bigqueryEmulatorSpec('127.0.0.1', port, grpcPort, { project: 'retailflow-test' })), port),
    { onRetry: onRetry('bigquery-emulator') },
  );
  const [temporalPort, pubsubPort, bigqueryPort] = await Promise.all([temporalStart, pubsubStart, bigqueryStart]);
  const temporal = await TestWorkflowEnvironment.createFromExistingServer({ address: `127.0.0.1:${temporalPort}`, namespace: 'default' });
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${pubsubPort}`;
  process.env.BIGQUERY_EMULATOR_HOST = `127.0.0.1:${bigqueryPort}`;
  process.env.TEMPORAL_ADDRESS = temporal.address;
  return { temporal, pubsubHost: process.env.PUBSUB_EMULATOR_HOST, bigqueryHost: process.env.BIGQUERY_EMULATOR_HOST, logDir };
}

/** Every test's duration, for the "slowest tests" list at the end of a run. */
const durations: Array<{ title: string; ms: number }> = [];

function printSlowest(n: number): void {
  const slowest = [...durations].sort((a, b) => b.ms - a.ms).slice(0, n);
  if (slowest.length === 0) return;
  console.log(`\n  ${n} slowest tests:`);
  for (const t of slowest) console.log(`  ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.title}`);
}

export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const test = this.currentTest;
    if (test?.duration !== undefined) durations.push({ title: test.fullTitle(), ms: test.duration });
  },

  async beforeAll(this: Mocha.Context): Promise<void> {
    // Runtime.install must come before any Worker or test environment exists, in unit runs too
    // (the workflow-logic tests start their own). ERROR, not WARN: the failure-path tests make
    // activities fail on purpose, and each would log.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none') return;
    this.timeout(120_000);
    started = await startServices();
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await eventBus?.close();
    await started?.temporal.teardown();
    await supervisor?.stop();
    printSlowest(10);
    const blocked = blockedAttempts();
    if (blocked.length > 0) throw new Error(`tests tried to leave the machine:\n${blocked.join('\n')}`);
  },
};
