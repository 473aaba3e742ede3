import type { EventBus } from './types';

/**
 * `ensureTopic` once per process per topic, not once per publish: creating a topic is an admin
 * call (slow, and rate-limited on the real service). A failed creation is forgotten, so the next
 * publish (an activity retry, say) tries again.
 */
export function topicEnsurer(eventBus: EventBus): (topic: string) => Promise<void> {
  const ready = new Map<string, Promise<void>>();
  return (topic) => {
    let pending = ready.get(topic);
    if (!pending) {
      pending = eventBus.ensureTopic(topic).catch((err: unknown) => {
        ready.delete(topic);
        throw err;
      });
      ready.set(topic, pending);
    }
    return pending;
  };
}
