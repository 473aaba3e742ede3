/**
 * Rows for Pub/Sub: the emulator (or the service) and each stream subscription.
 *
 * Backlog: the Pub/Sub admin API has no backlog count (the real service reports it as the Cloud
 * Monitoring metric num_undelivered_messages), and the emulator (Google's pstest, served by
 * tools/pubsub-emulator) exposes only the Publisher, Subscriber and Schema services and gRPC health.
 * So the backlog of the stream's subscription is estimated: lines published according to the
 * publish log (RUN_DIR/stream/published.jsonl, lib/stream/accounting.ts) minus the messages the
 * consumer accounted for (stored + duplicates + dead-lettered, its GET /stats). The estimate is
 * only as good as the log: publishers other than `retailflow stream` do not write it, and
 * messages an emulator restart dropped stay "published" in it. The dead-letter subscription's
 * backlog is not measurable at all; its row shows how many messages were dead-lettered.
 */
import { PubSub } from '@google-cloud/pubsub';
import { pubsubClientConfig } from '../eventbus/pubsub';
import { canConnect, parseHostPort } from '../process/supervisor';
import { estimateBacklog, type BacklogEstimate, type ConsumerStats } from './services';
import { count, errorLine, fail, ok, warn, type Check, type MonitorRow } from './rows';

export const PUBSUB_PART = 'pubsub';
export const subscriptionPart = (name: string): string => `subscription ${name}`;

/** A backlog at least this large is a WARN row: the consumer is behind (or down). */
export const BACKLOG_WARN = 10_000;

/** google.rpc.Code NOT_FOUND. */
const NOT_FOUND = 5;

export interface PubSubTarget {
  projectId: string;
  /** host:port of the emulator; undefined for the real service. */
  emulatorHost: string | undefined;
  /** The stream's subscription (the consumer's) and the dead-letter one. */
  subscription: string;
  deadLetterSubscription: string;
}

/** What GetSubscription said about one subscription. */
export type SubscriptionState = { exists: true; topic: string } | { exists: false } | Error;

export function pubsubRow(target: PubSubTarget, answered: number, ms: number): MonitorRow {
  const where = target.emulatorHost ? `emulator ${target.emulatorHost}` : 'Google Pub/Sub';
  return ok(PUBSUB_PART, `${where} (project ${target.projectId}) answered for ${answered} subscriptions (${ms} ms)`, {
    emulatorHost: target.emulatorHost ?? null,
    projectId: target.projectId,
    latencyMs: ms,
  });
}

/**
 * OK with the estimated backlog; WARN when it is at least BACKLOG_WARN or cannot be estimated
 * (no consumer stats); FAIL when the subscription does not exist (the consumer creates it at start).
 */
export function streamSubscriptionRow(name: string, state: SubscriptionState, stats: ConsumerStats | Error, published: number): MonitorRow {
  const part = subscriptionPart(name);
  if (state instanceof Error) return fail(part, errorLine(state));
  if (!state.exists) return fail(part, 'does not exist (the consumer creates it when it starts)');
  if (stats instanceof Error) return warn(part, `backlog unknown: no consumer stats (${stats.message})`, { topic: state.topic });
  const estimate: BacklogEstimate = estimateBacklog(published, stats.totals.accounted);
  const detail =
    `backlog ~${count(estimate.backlog)} (estimated: ${count(published)} published per the publish log - ` +
    `${count(estimate.accounted)} accounted by the consumer; the emulator reports no backlog` +
    `${estimate.accounted > published ? '; the log misses publishers that do not write it' : ''})`;
  const data = { topic: state.topic, ...estimate, estimated: true };
  return estimate.backlog >= BACKLOG_WARN ? warn(part, detail, data) : ok(part, detail, data);
}

export function deadLetterSubscriptionRow(name: string, state: SubscriptionState, stats: ConsumerStats | Error): MonitorRow {
  const part = subscriptionPart(name);
  if (state instanceof Error) return fail(part, errorLine(state));
  if (!state.exists) return fail(part, 'does not exist (the consumer creates it when it starts)');
  const dead = stats instanceof Error ? 'dead-lettered: unknown' : `${count(stats.totals.deadLettered)} dead-lettered in all`;
  return ok(part, `exists (${dead}; its backlog is not measurable: no backlog metric on the emulator)`, {
    topic: state.topic,
    deadLettered: stats instanceof Error ? null : stats.totals.deadLettered,
  });
}

async function subscriptionState(client: PubSub, name: string, timeoutMs: number): Promise<SubscriptionState> {
  try {
    const [metadata] = await client.subscription(name).getMetadata({ timeout: timeoutMs, maxRetries: 0 });
    return { exists: true, topic: String(metadata.topic ?? '').split('/').pop() ?? '' };
  } catch (err) {
    if ((err as { code?: unknown }).code === NOT_FOUND) return { exists: false };
    return err instanceof Error ? err : new Error(String(err));
  }
}

export function pubsubCheck(target: PubSubTarget, stats: () => Promise<ConsumerStats | Error>, published: () => number, timeoutMs: number): Check {
  const parts = [PUBSUB_PART, subscriptionPart(target.subscription), subscriptionPart(target.deadLetterSubscription)];
  return {
    parts,
    run: async () => {
      if (target.emulatorHost) {
        const { host, port } = parseHostPort(target.emulatorHost, 'PUBSUB_EMULATOR_HOST');
        // Fail in one line rather than letting the client retry against a closed port.
        if (!(await canConnect(host, port, timeoutMs))) return parts.map((p) => fail(p, `emulator not reachable at ${target.emulatorHost}`));
      }
      const client = new PubSub(pubsubClientConfig(target));
      try {
        const began = performance.now();
        const [main, dlq] = await Promise.all([
          subscriptionState(client, target.subscription, timeoutMs),
          subscriptionState(client, target.deadLetterSubscription, timeoutMs),
        ]);
        const ms = Math.round(performance.now() - began);
        const answered = [main, dlq].filter((s) => !(s instanceof Error)).length;
        const s = await stats();
        return [
          answered > 0 ? pubsubRow(target, answered, ms) : fail(PUBSUB_PART, errorLine(main)),
          streamSubscriptionRow(target.subscription, main, s, published()),
          deadLetterSubscriptionRow(target.deadLetterSubscription, dlq, s),
        ];
      } finally {
        void client.close().catch(() => undefined);
      }
    },
  };
}
