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
import { bigqueryEmulatorSpec, pubsubEmulatorSpec } from '../lib/emulators';
import { createPubSubEventBus } from '../lib/eventbus/pubsub';
import type { EventBus } from '../lib/eventbus/types';
import { freePort, Supervisor } from '../lib/process/supervisor';
import { SEARCH_ATTRIBUTE_KEYS } from '../lib/temporal/search-attributes';
import { toolPath } from '../lib/tools';
import { blockedAttempts, installNetworkGuard } from './support/network-guard';

process.env.METADATA_SERVER_DETECTION = 'none';
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

async function startServices(): Promise<TestServices> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-test-'));
  supervisor = new Supervisor({ logDir, stopGraceMs: 5_000 });
  const [pubsubPort, bigqueryPort, bigqueryGrpcPort] = [await freePort(), await freePort(), await freePort()];
  const temporalPromise = TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: toolPath('temporal') },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
      extraArgs: ['--log-level', 'error'],
    },
  });
  await Promise.all([
    supervisor.start(pubsubEmulatorSpec('127.0.0.1', pubsubPort)),
    supervisor.start(bigqueryEmulatorSpec('127.0.0.1', bigqueryPort, bigqueryGrpcPort, { project: 'retailflow-test' })),
  ]);
  const temporal = await temporalPromise;
  process.env.PUBSUB_EMULATOR_HOST = `127.0.0.1:${pubsubPort}`;
  process.env.BIGQUERY_EMULATOR_HOST = `127.0.0.1:${bigqueryPort}`;
  process.env.TEMPORAL_ADDRESS = temporal.address;
  return { temporal, pubsubHost: process.env.PUBSUB_EMULATOR_HOST, bigqueryHost: process.env.BIGQUERY_EMULATOR_HOST, logDir };
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    if (process.env.RETAILFLOW_TEST_SERVICES === 'none') return;
    this.timeout(120_000);
    // Runtime.install must come before any Worker or test environment exists.
    // ERROR, not WARN: the failure-path tests make activities fail on purpose, and each would log.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    started = await startServices();
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await eventBus?.close();
    await started?.temporal.teardown();
    await supervisor?.stop();
    const blocked = blockedAttempts();
    if (blocked.length > 0) throw new Error(`tests tried to leave the machine:\n${blocked.join('\n')}`);
  },
};
