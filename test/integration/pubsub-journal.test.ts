/**
 * The Pub/Sub emulator's journal (--journal, tools/pubsub-emulator/journal.go): after a kill -9
 * and a start on the same file, the official client finds its topics and subscriptions (with the
 * real dead-letter limit), every unacked message comes again with its original message ID, data
 * and publish time, no acked one does, and new messages get IDs no client has seen. Each test
 * runs its own emulator process on a kernel-picked port.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { pubsubEmulatorArgs, pubsubEmulatorPort } from '../../lib/emulators';
import { pubsubClientConfig } from '../../lib/eventbus/pubsub';
import { toolPath } from '../../lib/tools';

const PROJECT_ID = 'retailflow-journal';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Emulator {
  proc: ChildProcess;
  host: string;
  output: () => string;
}

async function startEmulator(journal: string): Promise<Emulator> {
  const proc = spawn(toolPath('pubsub-emulator'), pubsubEmulatorArgs('127.0.0.1', 0, journal), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/listening on/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the emulator did not start:\n${out}`);
    await sleep(20);
  }
  return { proc, host: `127.0.0.1:${pubsubEmulatorPort(out)}`, output: () => out };
}

async function kill9(emulator: Emulator): Promise<void> {
  const exited = new Promise((resolve) => emulator.proc.once('exit', resolve));
  emulator.proc.kill('SIGKILL');
  await exited;
}

interface Received {
  id: string;
  data: string;
  publishTime: number;
}

/** Streaming pull until `count` distinct messages came, acking those `ack` accepts (the rest are left unacked). */
async function receive(client: PubSub, sub: string, count: number, ack: (m: Message) => boolean): Promise<Map<string, Received>> {
  const got = new Map<string, Received>();
  const subscription = client.subscription(sub, { flowControl: { maxMessages: 5_000, allowExcessMessages: false } });
  subscription.on('message', (m: Message) => {
    got.set(m.id, { id: m.id, data: m.data.toString(), publishTime: m.publishTime.getTime() });
    if (ack(m)) m.ack();
  });
  const deadline = Date.now() + 30_000;
  while (got.size < count) {
    if (Date.now() > deadline) throw new Error(`${got.size} of ${count} messages came in 30 s`);
    await sleep(20);
  }
  await sleep(300); // acks are sent in batches
  await subscription.close();
  return got;
}

describe('Pub/Sub emulator journal survives kill -9 @integration', function () {
  this.timeout(120_000);
  let dir: string;
  const running: Emulator[] = [];
  const clients: PubSub[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retailflow-psjournal-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const e of running.splice(0)) if (e.proc.exitCode === null) e.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ emulator: Emulator; client: PubSub }> {
    const emulator = await startEmulator(path.join(dir, 'journal'));
    running.push(emulator);
    const client = new PubSub(pubsubClientConfig({ projectId: PROJECT_ID, emulatorHost: emulator.host }));
    clients.push(client);
    return { emulator, client };
  }

  it('keeps topics, subscriptions and unacked messages with their IDs and publish times; new IDs continue', async () => {
    const first = await start();
    const [topic] = await first.client.createTopic('orders');
    await first.client.createTopic('orders-dlq');
    await topic.createSubscription('orders-sub', { deadLetterPolicy: { deadLetterTopic: `projects/${PROJECT_ID}/topics/orders-dlq`, maxDeliveryAttempts: 7 }, ackDeadlineSeconds: 30 });
    await topic.createSubscription('audit'); // never read before the restart: holds every message
    const publisher = first.client.topic('orders', { batching: { maxMessages: 100, maxMilliseconds: 5 } });
    const published = await Promise.all(Array.from({ length: 1_000 }, (_, i) => publisher.publishMessage({ data: Buffer.from(`order ${i}`) })));
    assert.equal(new Set(published).size, 1_000);

    const acked = new Set<string>();
    const before = await receive(first.client, 'orders-sub', 1_000, (m) => {
      const keep = Number(m.data.toString().split(' ')[1]) % 5 === 0; // 200 stay unacked
      if (!keep) acked.add(m.id);
      return !keep;
    });
    assert.equal(acked.size, 800);
    await kill9(first.emulator);

    const second = await start();
    assert.match(second.emulator.output(), /2 topics, 2 subscriptions, 1000 unacked messages restored/);
    const [metadata] = await second.client.subscription('orders-sub').getMetadata();
    assert.equal(metadata.deadLetterPolicy?.maxDeliveryAttempts, 7, 'the real limit, not the one pstest is told');
    assert.equal(metadata.ackDeadlineSeconds, 30);

    const again = await receive(second.client, 'orders-sub', 200, () => true);
    assert.equal(again.size, 200);
    for (const [id, m] of again) {
      assert.ok(!acked.has(id), `acked message ${id} came again`);
      assert.deepEqual(m, before.get(id), `message ${id} as first delivered`);
    }
    const audit = await receive(second.client, 'audit', 1_000, () => true);
    assert.deepEqual([...audit.keys()].sort(), [...published].sort());

    const [newId] = await Promise.all([second.client.topic('orders').publishMessage({ data: Buffer.from('after the restart') })]);
    assert.ok(!published.includes(newId), `new message reuses ID ${newId}`);
    assert.equal(Number(newId.slice(1)), Math.max(...published.map((id) => Number(id.slice(1)))) + 1);
  });

  it('after a second restart only what is still unacked comes back, and the file is compacted', async () => {
    const first = await start();
    const [topic] = await first.client.createTopic('events');
    await topic.createSubscription('events-sub');
    const payload = Buffer.alloc(2_000, 'x');
    await Promise.all(Array.from({ length: 500 }, () => topic.publishMessage({ data: payload })));
    const sizeWithAll = fs.statSync(path.join(dir, 'journal')).size;
    await receive(first.client, 'events-sub', 500, () => true);
    await kill9(first.emulator);

    const second = await start();
    assert.match(second.emulator.output(), /1 topics, 1 subscriptions, 0 unacked messages restored/);
    const compacted = fs.statSync(path.join(dir, 'journal')).size;
    assert.ok(compacted < 1_000 && compacted < sizeWithAll / 100, `compacted to ${compacted} bytes from ${sizeWithAll}`);
    await second.client.topic('events').publishMessage({ data: Buffer.from('one more') });
    await kill9(second.emulator);

    const third = await start();
    assert.match(third.emulator.output(), /1 topics, 1 subscriptions, 1 unacked messages restored/);
    const last = await receive(third.client, 'events-sub', 1, () => true);
    assert.deepEqual([...last.values()].map((m) => m.data), ['one more']);
  });

  it('ignores a torn last record (killed inside a write) and refuses a file that is not a journal', async () => {
    const first = await start();
    await first.client.createTopic('t');
    await kill9(first.emulator);
    const file = path.join(dir, 'journal');
    fs.appendFileSync(file, Buffer.from([5, 0x90, 0x01, 1, 2, 3])); // a publish record cut short
    const second = await start();
    assert.match(second.emulator.output(), /ignoring a torn last record/);
    assert.match(second.emulator.output(), /1 topics, 0 subscriptions/);
    await kill9(second.emulator);

    fs.writeFileSync(file, 'this is not a journal\n');
    await assert.rejects(startEmulator(file), /not a journal this emulator wrote|unknown record kind/);
  });
});
