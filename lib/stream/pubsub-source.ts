/**
 * Feeds a StreamConsumer from a Pub/Sub streaming pull with client-side flow control (the
 * emulator has no server-side flow control; the client library holds back excess messages).
 */
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { pubsubClientConfig } from '../eventbus/pubsub';
import type { DeadLetterSink, LogFn, StreamConsumer } from './consumer';

export interface PubSubSourceOptions {
  projectId: string;
  emulatorHost?: string;
  subscription: string;
  deadLetterTopic: string;
  /** Messages held by this process at once (flow control). */
  maxMessages: number;
  /** Streaming-pull streams; 0 = automatic (see EMULATOR_PULL_STREAMS). */
  streams?: number;
  log: LogFn;
}

export interface PubSubSource {
  client: PubSub;
  deadLetter: DeadLetterSink;
  /** Begin the streaming pull into `consumer`. */
  start(consumer: StreamConsumer): void;
  /** Stop pulling after `consumer` drained: acks are flushed before this resolves. */
  close(): Promise<void>;
}

/**
 * The emulator (pstest) hands each stream at most one message per 10 ms delivery tick, so a stream
 * carries ~100 messages/s there; 64 streams allow ~6,000/s. The real service sends batches per
 * stream, where the library's default (5) is plenty.
 */
export const EMULATOR_PULL_STREAMS = 128;
const SERVICE_PULL_STREAMS = 5;

function pullStreams(opts: PubSubSourceOptions): number {
  if (opts.streams) return opts.streams;
  return opts.emulatorHost ? EMULATOR_PULL_STREAMS : SERVICE_PULL_STREAMS;
}

export function createPubSubSource(opts: PubSubSourceOptions): PubSubSource {
  const client = new PubSub(pubsubClientConfig({ projectId: opts.projectId, emulatorHost: opts.emulatorHost }));
  const dlq = client.topic(opts.deadLetterTopic, { batching: { maxMessages: 100, maxMilliseconds: 10 } });
  let subscription: Subscription | undefined;
  return {
    client,
    deadLetter: async (data, attributes) => {
      await dlq.publishMessage({ data, attributes });
    },
    start(consumer) {
      subscription = client.subscription(opts.subscription, {
        flowControl: { maxMessages: opts.maxMessages, allowExcessMessages: false },
        // Acks go out in batches; a micro-batch of 1000 acks is one or two requests.
        batching: { maxMessages: 2500, maxMilliseconds: 20 },
        streamingOptions: { maxStreams: pullStreams(opts) },
      });
      subscription.on('message', (m: Message) =>
        consumer.push({ id: m.id, data: m.data, attributes: m.attributes ?? {}, publishTime: m.publishTime, ack: () => m.ack(), nack: () => m.nack() }),
      );
      subscription.on('error', (err: Error) => opts.log('error', 'subscription error', { error: err.message }));
    },
    async close() {
      await subscription?.close();
      await dlq.flush();
      await client.close();
    },
  };
}
