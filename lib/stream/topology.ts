/**
 * Pub/Sub names of the stream and their creation. The subscription is created WITHOUT message
 * ordering although publishers set InvoiceNo as the ordering key: an ordered subscription hands
 * out one message per key until it is acked, and the consumer acks per micro-batch, so every line
 * of a 20-line invoice would wait for about 20 batch intervals. Storing lines needs no order
 * (dedupe is by event_id); a future per-invoice consumer can create its own ordered subscription.
 */
import type { EventBus } from '../eventbus/types';

export interface StreamNames {
  topic: string;
  subscription: string;
  deadLetterTopic: string;
  /** Keeps dead letters for inspection: Pub/Sub drops messages of a topic nobody subscribes to. */
  deadLetterSubscription: string;
}

export const DEFAULT_STREAM_NAMES: StreamNames = {
  topic: 'orders',
  subscription: 'orders-warehouse',
  deadLetterTopic: 'orders-dlq',
  deadLetterSubscription: 'orders-dlq-inspect',
};

/**
 * Server-side safety net only: a message that is nacked or expires this many times (a consumer
 * crashing on it in a loop) goes to the dead-letter topic without a ledger entry. The consumer
 * itself dead-letters malformed messages at first sight and never nacks for a failed write.
 */
export const SERVER_MAX_DELIVERY_ATTEMPTS = 100;

/** Create topic, dead-letter topic and both subscriptions if missing (idempotent). */
export async function ensureStreamTopology(bus: EventBus, names: StreamNames = DEFAULT_STREAM_NAMES): Promise<void> {
  await bus.ensureTopic(names.topic);
  await bus.ensureTopic(names.deadLetterTopic);
  await bus.ensureSubscription(names.topic, names.subscription, {
    deadLetterTopic: names.deadLetterTopic,
    maxDeliveryAttempts: SERVER_MAX_DELIVERY_ATTEMPTS,
    ackDeadlineSeconds: 10,
    enableMessageOrdering: false,
  });
  await bus.ensureSubscription(names.deadLetterTopic, names.deadLetterSubscription);
}
