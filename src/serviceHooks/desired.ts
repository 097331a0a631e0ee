/**
 * The desired set: the events the configured kinds listen to, and the subscriptions this installation wants for them
 * in one organization (each event once, or once per project when the projects are limited).
 */
import type { PortAppConfig } from '../config/appConfig.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import { listProjects } from '../kinds/shared/listings.js';
import { getKind } from '../kinds/registry.js';
import type { EventSubscription } from '../kinds/types.js';
import { HookListError, HookPermissionError, HooksApi, type HookOptions } from './api.js';
import type { DesiredSubscription } from './subscription.js';

/** The distinct (publisher, event type) pairs the configured kinds listen to, in a stable order. */
export function requiredSubscriptions(config: Pick<PortAppConfig, 'resources'>): EventSubscription[] {
  const seen = new Map<string, EventSubscription>();
  for (const resource of config.resources) {
    for (const s of getKind(resource.kind)?.events?.subscriptions ?? []) seen.set(`${s.publisherId}/${s.eventType}`, s);
  }
  return [...seen.values()].sort((a, b) => a.publisherId.localeCompare(b.publisherId) || a.eventType.localeCompare(b.eventType));
}

/** The subscriptions this installation wants in one organization: each event × each project, or once per organization. */
export async function desiredSubscriptions(o: HookOptions, events: EventSubscription[]): Promise<DesiredSubscription[]> {
  if (events.length === 0) return [];
  if (!o.settings.isProjectsLimited) return events.map((e) => ({ publisherId: e.publisherId, eventType: e.eventType }));
  const api = new HooksApi(o);
  let projects;
  try {
    projects = await listProjects(createFetchContext({ client: o.client, log: api.log, signal: o.signal, pageSize: o.pageSize ?? 1000 }));
  } catch (err) {
    const e = api.explain(err, 'listing projects for the service-hook subscriptions');
    throw e instanceof HookPermissionError ? e : new HookListError(e.message);
  }
  const out: DesiredSubscription[] = [];
  for (const p of projects) {
    for (const e of events) out.push({ publisherId: e.publisherId, eventType: e.eventType, projectId: p.id, projectName: p.name });
  }
  return out;
}
