/**
 * Fault: the Pub/Sub emulator restarts in the middle of a stream (issue 15). `npm start`'s stack
 * with real processes; a generated stream at 1,000 lines/s, and the emulator killed twice while
 * it runs: once with kill -9, once with SIGTERM (a graceful stop, as an operator's restart).
 *
 * What must hold:
 * - the supervisor brings the emulator back, and nobody else restarts: the publisher's and the
 *   consumer's streams reconnect on their own, and the emulator's journal gives back the topics,
 *   the subscriptions and every message not yet acked;
 * - every line the publisher got an ID for is stored once; nothing is dead-lettered;
 * - stored + duplicates + dead-lettered = the messages the emulator took, counted independently
 *   on a second subscription of the topic that the test reads at the end. A publish the emulator
 *   took but could not answer before it died is sent again by the client (Pub/Sub publishes at
 *   least once, the real service too); such a copy is a duplicate, and is the only kind allowed.
 *
 * Needs `npm run build` and the tools from `npm run setup`; uses the real data's first lines.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { PROJECT_ROOT } from '../../lib/config';
import { pubsubClientConfig } from '../../lib/eventbus/pubsub';
import { isPidAlive } from '../../lib/process/supervisor';
import { CLI } from '../support/cli';
import { eventually, startStackWithSample, streamStats, withStackWarehouse, type StreamStats } from '../support/stack-checks';
import { sleep, stopStack, waitForExit, type RunningStack } from '../support/stack';

const SAMPLE_LINES = 20_000;
const STREAM = { rate: 1_000, count: 20_000, seed: 31 };
const AUDIT_SUBSCRIPTION = 'fault-audit';

describe('fault: the Pub/Sub emulator restarts mid-stream @integration @fault', function () {
  this.timeout(240_000);
  let runDir: string;
  let stack: RunningStack;
  let client: PubSub;

  before(async function () {
    this.timeout(240_000);
    ({ runDir, stack } = await startStackWithSample('retailflow-psfault-', SAMPLE_LINES));
    client = new PubSub(pubsubClientConfig({ projectId: String(stack.env.PUBSUB_PROJECT_ID ?? 'retailflow-local'), emulatorHost: String(stack.env.PUBSUB_EMULATOR_HOST) }));
    await client.topic(String(stack.env.STREAM_TOPIC ?? 'orders')).createSubscription(AUDIT_SUBSCRIPTION, { ackDeadlineSeconds: 600 });
  });

  after(async function () {
    this.timeout(60_000);
    await client?.close();
    await stopStack(stack, runDir);
  });

  async function restartEmulator(signal: NodeJS.Signals, restarts: number): Promise<void> {
    const pid = stack.part('pubsub-emulator').pid;
    assert.ok(pid !== null && isPidAlive(pid), 'the emulator runs before the kill');
    process.kill(pid, signal);
    await eventually(`the emulator's restart ${restarts}`, async () => {
      const part = stack.part('pubsub-emulator');
      return part.state === 'ready' && part.restarts >= restarts ? true : undefined;
    }, 30_000);
  }

  /** Every message on the audit subscription, by ID, read once the stream is over. */
  async function auditIds(atLeast: number): Promise<Set<string>> {
    const ids = new Set<string>();
    const subscription = client.subscription(AUDIT_SUBSCRIPTION, { flowControl: { maxMessages: 10_000 } });
    subscription.on('message', (m: Message) => {
      ids.add(m.id);
      m.ack();
    });
    let size = -1;
    await eventually('the audit subscription to be read', async () => {
      const quiet = ids.size >= atLeast && ids.size === size;
      size = ids.size;
      return quiet ? true : undefined;
    }, 90_000);
    await subscription.close();
    return ids;
  }

  it('stores every published line once, and stored + duplicates + dead-lettered = the messages the emulator took', async () => {
    const before = await streamStats(stack);
    const generate = ['stream', 'generate', '--rate', String(STREAM.rate), '--count', String(STREAM.count), '--seed', String(STREAM.seed), '--json'];
    const publisher = spawn(process.execPath, [CLI, ...generate], { cwd: PROJECT_ROOT, env: stack.env });
    let out = '';
    publisher.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    publisher.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));

    await sleep(5_000);
    await restartEmulator('SIGKILL', 1);
    await sleep(4_000);
    assert.equal(publisher.exitCode, null, `the stream ended before the second restart:\n${out}`);
    await restartEmulator('SIGTERM', 2);
    assert.equal(await waitForExit(publisher, 120_000), 0, out);
    assert.match(out, new RegExp(`"published":${STREAM.count}\\b`));

    const after = await eventually('every line stored', async () => {
      const stats = await streamStats(stack);
      return stats.stored - before.stored === STREAM.count ? stats : undefined;
    }, 120_000);
    const taken = await auditIds(STREAM.count);
    const settled = await eventually('the accounting to settle', async () => {
      const stats = await streamStats(stack);
      return stats.accounted - before.accounted === taken.size ? stats : undefined;
    }, 60_000).catch(async () => streamStats(stack));
    const delta = (k: keyof StreamStats) => settled[k] - before[k];
    console.log(`      ${taken.size} messages taken by the emulator for ${STREAM.count} lines; stored ${delta('stored')}, duplicates ${delta('duplicates')}, dead-lettered ${delta('deadLettered')}`);
    assert.equal(after.stored - before.stored, STREAM.count);
    assert.equal(delta('stored'), STREAM.count, 'no line stored twice');
    assert.equal(delta('deadLettered'), 0);
    assert.equal(delta('accounted'), taken.size, 'stored + duplicates + dead-lettered = the messages the emulator took');
    assert.equal(delta('duplicates'), taken.size - STREAM.count);
    assert.ok(taken.size - STREAM.count <= 10, `${taken.size - STREAM.count} publishes sent twice: more than two restarts can explain`);
    assert.equal(delta('publishedLogged'), STREAM.count);

    const distinct = await withStackWarehouse(stack, (wh) => wh.query<{ n: number; events: number }>(
      'SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS events FROM orders_stream'));
    assert.equal(Number(distinct[0].n), Number(distinct[0].events));

    const restarts = Object.fromEntries(stack.status().parts.map((part) => [part.name, part.restarts]));
    assert.deepEqual(restarts, { temporal: 0, 'pubsub-emulator': 2, worker: 0, api: 0, consumer: 0 });
    assert.match(fs.readFileSync(path.join(runDir, 'logs', 'pubsub-emulator.log'), 'utf8'), /unacked messages restored/);
  });
});
