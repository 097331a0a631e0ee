import type { PortAppConfig } from '../config/appConfig.js';
import { getKind } from '../kinds/registry.js';
import type { EventSubscription } from '../kinds/types.js';

/** The distinct (publisher, event type) pairs the configured kinds listen to, in a stable order. */
export function requiredSubscriptions(config: Pick<PortAppConfig, 'resources'>): EventSubscription[] {
  const seen = new Map<string, EventSubscription>();
  for (const resource of config.resources) {
    for (const s of getKind(resource.kind)?.events?.subscriptions ?? []) seen.set(`${s.publisherId}/${s.eventType}`, s);
  }
  return [...seen.values()].sort((a, b) => a.publisherId.localeCompare(b.publisherId) || a.eventType.localeCompare(b.eventType));
}
