/**
 * Partial sync for one service-hook event: find the organization, let each configured resource whose kind handles the
 * event refetch the current state from Azure DevOps (with the kind's own resync filters: what a resync would not produce
 * comes back as deleted), map it with that resource's mapping (selector.query applies) and upsert it; entities of items
 * that are gone, filtered out, or that no longer pass the query, are deleted if this instance owns them.
 */
import type { PortAppConfig, ResourceConfig } from '../config/appConfig.js';
import { serviceUrl, type AdoService } from '../ado/orgUrl.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import { getKind } from '../kinds/registry.js';
import { RunCache } from '../kinds/shared/runCache.js';
import type { Selector, ServiceHookEvent, DeclarationClaims } from '../kinds/types.js';
import type { Logger } from '../observability/log.js';
import { OutcomeWriter, type OutcomeWriterDeps, type ResourceEventResult } from './outcomeWriter.js';
import type { OrgTarget } from './resync.js';

export type { LiveCatalog, ResourceEventResult } from './outcomeWriter.js';

export interface LiveEventDeps extends OutcomeWriterDeps {
  config: PortAppConfig;
  targets: OrgTarget[];
  log: Logger;
  pageSize: number;
  /** Who declares which entity, as the last resync recorded it (GitOps conflicts). */
  claims?: DeclarationClaims;
}

export interface LiveEventResult {
  status: 'handled' | 'ignored';
  reason?: string;
  organization?: string;
  resources: ResourceEventResult[];
}

const SERVICES: AdoService[] = ['core', 'vsrm', 'vssps', 'vsaex', 'advsec'];

function urlsOf(event: ServiceHookEvent): string[] {
  const out: string[] = [];
  const push = (v: unknown) => {
    if (typeof v === 'string' && /^https?:\/\//i.test(v)) out.push(v);
  };
  for (const c of Object.values(event.resourceContainers ?? {})) push(c?.baseUrl);
  const r = event.resource;
  push(r.url);
  for (const key of ['repository', 'run', 'pipeline', 'release', 'environment', 'deployment', 'revision']) {
    const v = r[key];
    if (v && typeof v === 'object') push((v as Record<string, unknown>).url);
  }
  return out;
}

function normalise(url: string): string {
  return url.toLowerCase().replace(/\/+$/, '') + '/';
}

/**
 * The organization name a cloud URL names, whatever its host style or service: dev.azure.com/{org},
 * vsrm.dev.azure.com/{org}, {org}.visualstudio.com, {org}.vsrm.visualstudio.com. Undefined for other hosts.
 */
export function cloudOrganizationName(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const host = u.hostname.toLowerCase();
  if (host === 'dev.azure.com' || host.endsWith('.dev.azure.com')) return u.pathname.split('/').find((s) => s !== '')?.toLowerCase();
  if (host.endsWith('.visualstudio.com')) return host.split('.')[0];
  return undefined;
}

/**
 * The configured organization an event belongs to, by the URLs it carries (`resourceContainers.*.baseUrl`, the
 * resource's own `url`); with no URL at all, the only configured organization. An event whose URLs name no configured
 * organization is not ours.
 */
export function eventOrganization(event: ServiceHookEvent, targets: OrgTarget[]): OrgTarget | undefined {
  const urls = urlsOf(event).map(normalise);
  if (urls.length === 0) return targets.length === 1 ? targets[0] : undefined;
  return targets.find((t) => {
    const org = t.client.org;
    // A cloud organization is the same under either host style (events may carry the other one).
    if (org.hostStyle !== 'custom') return urls.some((u) => cloudOrganizationName(u) === org.name.toLowerCase());
    const bases = SERVICES.map((s) => normalise(serviceUrl(org, s)));
    return urls.some((u) => bases.some((b) => u.startsWith(b)));
  });
}

/** The resources a given event type concerns, with their index in the config. */
export function resourcesForEvent(config: PortAppConfig, eventType: string): Array<{ index: number; resource: ResourceConfig }> {
  return config.resources
    .map((resource, index) => ({ index, resource }))
    .filter(({ resource }) => getKind(resource.kind)?.events?.subscriptions.some((s) => s.eventType === eventType) ?? false);
}

/** Partial sync for service-hook events; the writing is OutcomeWriter's, shared with the catalog refresh after an action. */
/**
 * How long events of one organization share parent reads (a project, a repository listing): a burst of events about
 * one project reads it once, and a project's state is at most this old when an event judges by it.
 */
const SHARED_READS_MS = 5_000;

export class LiveEventHandler {
  readonly #writer: OutcomeWriter;
  /** Per organization: listings are memoised under names like `repositories`, which only one organization may own. */
  readonly #caches = new Map<string, { cache: RunCache; born: number }>();

  constructor(private readonly deps: LiveEventDeps) {
    this.#writer = new OutcomeWriter(deps);
  }

  async handle(event: ServiceHookEvent, signal?: AbortSignal): Promise<LiveEventResult> {
    const { config, log } = this.deps;
    const resources = resourcesForEvent(config, event.eventType);
    if (resources.length === 0) {
      log.debug({ eventType: event.eventType, eventId: event.id }, 'no configured kind handles this event type');
      return { status: 'ignored', reason: `no configured kind handles ${event.eventType}`, resources: [] };
    }
    const target = eventOrganization(event, this.deps.targets);
    if (!target) {
      log.debug({ eventType: event.eventType, eventId: event.id }, 'event of an organization that is not configured: ignored');
      return { status: 'ignored', reason: 'organization not configured', resources: [] };
    }
    const org = target.client.org;
    let shared = this.#caches.get(org.name);
    if (!shared || Date.now() - shared.born > SHARED_READS_MS) this.#caches.set(org.name, (shared = { cache: new RunCache(), born: Date.now() }));
    const cache = shared.cache;
    const results: ResourceEventResult[] = [];
    for (const { index, resource } of resources) {
      const kind = getKind(resource.kind)!;
      const elog = log.child({ eventId: event.id, eventType: event.eventType, resource: index, kind: kind.kind, org: org.name });
      const ctx = createFetchContext({ client: target.client, log: elog, signal, cache, pageSize: this.deps.pageSize, claims: this.deps.claims });
      const outcome = await kind.events!.handle(ctx, event, resource.selector as Selector);
      results.push(await this.#writer.write(org, index, resource, outcome, elog));
    }
    return { status: 'handled', organization: org.name, resources: results };
  }

  close(): Promise<void> {
    return this.#writer.close();
  }
}
