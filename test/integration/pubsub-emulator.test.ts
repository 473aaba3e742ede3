/**
 * The local Pub/Sub emulator (tools/pubsub-emulator) and the event-bus adapter, end to end over
 * real gRPC. The root hook starts the emulator and sets PUBSUB_EMULATOR_HOST. Receiving goes
 * through a plain client because the bus has no consumer yet.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import * as http2 from 'node:http2';
import { PubSub, type Message, type Subscription, type SubscriberOptions } from '@google-cloud/pubsub';
import { createPubSubEventBus, pubsubClientConfig } from '../../lib/eventbus/pubsub';
import type { EventBus } from '../../lib/eventbus/types';

const PROJECT_ID = 'retailflow-test';

/** Topic and subscription names unique per test, so tests never see each other's messages. */
function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('Pub/Sub emulator and event bus @integration', () => {
  let emulatorHost: string;
  let bus: EventBus;
  let client: PubSub;
  const subscriptions: Subscription[] = [];

  /** Streaming pull (`on('message')`), closed after the test. */
  function listen(name: string, onMessage: (m: Message) => void, options?: SubscriberOptions): void {
    const subscription = client.subscription(name, options);
    subscription.on('message', onMessage);
    subscription.on('error', (err: Error) => assert.fail(`subscription ${name}: ${err.message}`));
    subscriptions.push(subscription);
  }

  before(() => {
    const host = process.env.PUBSUB_EMULATOR_HOST;
    if (!host) throw new Error('PUBSUB_EMULATOR_HOST is not set (the root hook starts the emulator)');
    emulatorHost = host;
    bus = createPubSubEventBus({ projectId: PROJECT_ID, emulatorHost });
    client = new PubSub(pubsubClientConfig({ projectId: PROJECT_ID, emulatorHost }));
  });

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.close()));
  });

  after(async () => {
    await bus?.close();
    await client?.close();
  });

  it('answers the standard gRPC health check with SERVING', async () => {
    assert.deepEqual(await grpcHealthCheck(emulatorHost, ''), { grpcStatus: '0', servingStatus: SERVING });
    const publisher = await grpcHealthCheck(emulatorHost, 'google.pubsub.v1.Publisher');
    assert.deepEqual(publisher, { grpcStatus: '0', servingStatus: SERVING });
  });

  it('ensureTopic and ensureSubscription can run twice, and concurrently', async () => {
    const topic = unique('orders');
    const dlq = unique('orders-dlq');
    const sub = unique('orders-sub');
    const opts = { deadLetterTopic: dlq, maxDeliveryAttempts: 7, ackDeadlineSeconds: 30, enableMessageOrdering: true };
    await Promise.all([bus.ensureTopic(topic), bus.ensureTopic(topic)]);
    await bus.ensureTopic(topic);
    await bus.ensureSubscription(topic, sub, opts);
    await bus.ensureSubscription(topic, sub, opts);

    const [metadata] = await client.subscription(sub).getMetadata();
    assert.equal(metadata.topic, `projects/${PROJECT_ID}/topics/${topic}`);
    assert.equal(metadata.ackDeadlineSeconds, 30);
    assert.equal(metadata.enableMessageOrdering, true);
    assert.equal(metadata.deadLetterPolicy?.deadLetterTopic, `projects/${PROJECT_ID}/topics/${dlq}`);
    assert.equal(metadata.deadLetterPolicy?.maxDeliveryAttempts, 7);
    const [dlqExists] = await client.topic(dlq).exists();
    assert.equal(dlqExists, true, 'ensureSubscription creates the dead-letter topic');
  });

  it('rejects subscription settings the real service would reject, creating nothing', async () => {
    const topic = unique('orders');
    const sub = unique('orders-sub');
    await bus.ensureTopic(topic);
    const dlq = unique('orders-dlq');
    await assert.rejects(bus.ensureSubscription(topic, sub, { deadLetterTopic: dlq, maxDeliveryAttempts: 4 }), RangeError);
    await assert.rejects(bus.ensureSubscription(topic, sub, { ackDeadlineSeconds: 5 }), RangeError);
    await assert.rejects(bus.ensureSubscription(topic, sub, { maxDeliveryAttempts: 5 }), /needs a deadLetterTopic/);
    const [exists] = await client.subscription(sub).exists();
    assert.equal(exists, false);
  });

  it('delivers every published message exactly once by streaming pull, intact and in key order, within flow control', async () => {
    const topic = unique('orders');
    const sub = unique('orders-sub');
    await bus.ensureTopic(topic);
    await bus.ensureSubscription(topic, sub, { enableMessageOrdering: true });
    const total = 48;
    const keys = 8; // more keys than maxMessages: ordering alone would allow 8 in flight
    const maxMessages = 3;

    const published = new Map<string, number>(); // message id -> seq
    const ids = await Promise.all(
      Array.from({ length: total }, (_, seq) =>
        bus.publish(topic, { seq, sku: `SKU-${seq}` }, {
          attributes: { seq: String(seq), source: 'test' },
          orderingKey: `customer-${seq % keys}`,
        }),
      ),
    );
    ids.forEach((id, seq) => published.set(id, seq));
    assert.equal(published.size, total, 'message ids are unique');

    const received: Message[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    listen(
      sub,
      (message) => {
        received.push(message);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        // Hold each message briefly so concurrent deliveries overlap if flow control lets them.
        setTimeout(() => {
          inFlight--;
          message.ack();
        }, 20);
      },
      { flowControl: { maxMessages, allowExcessMessages: false } },
    );
    await waitFor(`${total} messages`, () => received.length >= total);
    await sleep(500); // any redelivery or duplicate would arrive in this window

    assert.equal(received.length, total);
    assert.ok(maxInFlight <= maxMessages, `at most ${maxMessages} in flight, saw ${maxInFlight}`);
    const lastSeqByKey = new Map<string, number>();
    for (const message of received) {
      const seq = published.get(message.id);
      if (seq === undefined) assert.fail(`unexpected message id ${message.id}`);
      assert.deepEqual(JSON.parse(message.data.toString('utf8')), { seq, sku: `SKU-${seq}` });
      assert.deepEqual(message.attributes, { seq: String(seq), source: 'test' });
      assert.equal(message.orderingKey, `customer-${seq % keys}`);
      assert.ok((lastSeqByKey.get(message.orderingKey) ?? -1) < seq, `order kept for ${message.orderingKey}`);
      lastSeqByKey.set(message.orderingKey, seq);
    }
    assert.equal(new Set(received.map((m) => m.id)).size, total, 'no duplicates');
  });

  it('dead-letters a message that is always nacked after maxDeliveryAttempts', async () => {
    const topic = unique('orders');
    const dlq = unique('orders-dlq');
    const sub = unique('orders-sub');
    const dlqSub = unique('orders-dlq-sub');
    await bus.ensureTopic(topic);
    await bus.ensureSubscription(topic, sub, { deadLetterTopic: dlq, maxDeliveryAttempts: 5 });
    await bus.ensureSubscription(dlq, dlqSub);
    await bus.publish(topic, Buffer.from('poison'), { attributes: { kind: 'poison' } });

    const attempts: number[] = [];
    const deadLettered: Message[] = [];
    listen(sub, (message) => {
      attempts.push(message.deliveryAttempt);
      message.nack();
    });
    listen(dlqSub, (message) => {
      deadLettered.push(message);
      message.ack();
    });
    await waitFor('the dead-lettered message', () => deadLettered.length >= 1);
    await sleep(500); // an extra delivery on either subscription would show up here

    assert.deepEqual(attempts, [1, 2, 3, 4, 5]);
    assert.equal(deadLettered.length, 1);
    assert.equal(deadLettered[0].data.toString('utf8'), 'poison');
    assert.equal(deadLettered[0].attributes.kind, 'poison');
  });

  it('close sends batched messages, then refuses to publish', async () => {
    const topic = unique('orders');
    const sub = unique('orders-sub');
    await bus.ensureTopic(topic);
    await bus.ensureSubscription(topic, sub);
    const own = createPubSubEventBus({ projectId: PROJECT_ID, emulatorHost });
    const pending = own.publish(topic, { last: true }); // still in the 20 ms batch window
    await own.close();
    const id = await pending;

    const received: Message[] = [];
    listen(sub, (message) => {
      received.push(message);
      message.ack();
    });
    await waitFor('the flushed message', () => received.length >= 1);
    assert.equal(received[0].id, id);
    await assert.rejects(own.publish(topic, { late: true }), /closed/);
  });
});

/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING */
const SERVING = 1;

/**
 * One grpc.health.v1.Health/Check call over plain HTTP/2, so the test needs no gRPC library.
 * Messages are length-prefixed protobuf: the request is `service` (field 1, a string), the
 * response `status` (field 1, a varint), which proto3 leaves out when it is 0 (UNKNOWN).
 */
async function grpcHealthCheck(hostPort: string, service: string): Promise<{ grpcStatus: string; servingStatus: number }> {
  const session = http2.connect(`http://${hostPort}`);
  try {
    const request = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const name = Buffer.from(service, 'utf8');
    const body = name.length > 0 ? Buffer.concat([Buffer.from([0x0a, name.length]), name]) : Buffer.alloc(0);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(body.length, 1);
    request.end(Buffer.concat([frame, body]));

    const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => request.once('response', resolve));
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => request.once('trailers', resolve));
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const response = Buffer.concat(chunks);
    // An error comes "trailers-only": grpc-status sits in the headers and there is no body.
    const grpcStatus = String(response.length > 0 ? (await trailers)['grpc-status'] : (await headers)['grpc-status']);
    const message = response.subarray(5, 5 + (response.length >= 5 ? response.readUInt32BE(1) : 0));
    const servingStatus = message.length >= 2 && message[0] === 0x08 ? message[1] : 0;
    return { grpcStatus, servingStatus };
  } finally {
    session.close();
  }
}
