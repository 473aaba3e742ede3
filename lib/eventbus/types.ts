/**
 * The event-bus port. Producers (the API, activities, replay tools) and, later, the streaming
 * consumer talk to this interface only; `pubsub.ts` implements it with Google Cloud Pub/Sub,
 * against the local emulator or the real service.
 *
 * Names are short resource ids ("orders", "orders-warehouse"), never full
 * `projects/P/topics/T` paths: the adapter owns the project.
 *
 * The streaming consumer (a later issue) is meant to add one method here, roughly
 * `subscribe(subscription, handler, { maxMessages })` returning a handle with `close()`, where the
 * handler receives data, `EventAttributes`, the ordering key and the delivery attempt. The
 * option types below are shaped so that the same names carry over.
 */

/** Pub/Sub attributes: string keys to string values, delivered unchanged with the message. */
export type EventAttributes = Record<string, string>;

/** A message body: bytes as they are, or any other object, which is sent as UTF-8 JSON. */
export type EventData = Buffer | object;

export interface PublishOptions {
  attributes?: EventAttributes;
  /**
   * Messages with the same key reach a subscriber with message ordering enabled in publish order.
   * Use a business key with many distinct values (a customer id, say): each key is delivered
   * one message at a time.
   */
  orderingKey?: string;
}

export interface SubscriptionOptions {
  /** Topic that receives a message once `maxDeliveryAttempts` deliveries were nacked or expired. */
  deadLetterTopic?: string;
  /** 5..100, as the real service requires; only with `deadLetterTopic`. Default 5. */
  maxDeliveryAttempts?: number;
  /** 10..600 seconds, as the real service requires. Default 10. */
  ackDeadlineSeconds?: number;
  /** Deliver messages that share an ordering key in publish order. Fixed at creation. */
  enableMessageOrdering?: boolean;
}

export interface EventBus {
  /** Create the topic if it is missing. Safe to call every start-up. */
  ensureTopic(name: string): Promise<void>;
  /**
   * Create the subscription (and its dead-letter topic) if missing. An existing subscription is
   * left as it is, even if its settings differ from `opts`.
   */
  ensureSubscription(topic: string, subscription: string, opts?: SubscriptionOptions): Promise<void>;
  /** Publish one message (batched with others under the hood); resolves to its server message id. */
  publish(topic: string, data: EventData, opts?: PublishOptions): Promise<string>;
  /** Send any batched messages, then release connections. Further calls fail. */
  close(): Promise<void>;
}
