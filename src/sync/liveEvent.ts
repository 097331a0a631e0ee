/**
 * Partial sync for one service-hook event: find the organization, let each configured resource whose kind handles the
 * event refetch the current state from Azure DevOps (with the kind's own resync filters: what a resync would not produce
 * comes back as deleted), map it with that resource's mapping (selector.query applies) and upsert it; entities of items
 * that are gone, filtered out, or that no longer pass the query, are deleted if this instance owns them.
 */
import type { PortAppConfig, ResourceConfig } from '../config/appConfig.js';
import { entityKey } from '../catalog/entity.js';
import type { CatalogSink } from '../catalog/sink.js';
import { serviceUrl, type AdoService } from '../ado/orgUrl.js';
import { createFetchContext } from '../kinds/fetchContext.js';
import { getKind } from '../kinds/registry.js';
import { RunCache } from '../kinds/shared/runCache.js';
import type { RawItem, Selector, ServiceHookEvent } from '../kinds/types.js';
import { ResourceMapper } from '../mapping/engine.js';
import type { Logger } from '../observability/log.js';
import type { EntityOrigins } from './entityOrigins.js';
import { byBlueprint } from './produced.js';
import type { OrgTarget } from './resync.js';

/** The delete side of the catalog for live events: only entities this instance owns are removed. */
export interface LiveCatalog {
  ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]>;
  delete(blueprint: string, identifiers: string[]): Promise<{ deleted: string[]; failed: Array<{ identifier: string; error: string }> }>;
}

export interface LiveEventDeps {
  config: PortAppConfig;
  targets: OrgTarget[];
  sink: CatalogSink;
  /** Without one (dry-run), entities to delete are only reported. */
  catalog?: LiveCatalog;
  state?: { forget(keys: string[]): Promise<void> };
  /** Records which organization produced each upserted entity (scopes stale deletion per organization). */
  origins?: EntityOrigins;
  log: Logger;
  pageSize: number;
}

export interface ResourceEventResult {
  index: number;
  kind: string;
  upserted: number;
  deleted: number;
  /** Entities to delete that Port did not have, or that another datasource owns. */
  notOwned: number;
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

/**
 * Keeps one pair of mappers per resource (long-lived jq processes): the resource as configured, and the same mapping
 * with the query switched off, which names the entities of items that are gone or filtered out.
 */
export class LiveEventHandler {
  readonly #mappers = new Map<number, { kept: ResourceMapper; any: ResourceMapper }>();

  constructor(private readonly deps: LiveEventDeps) {}

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
    const cache = new RunCache();
    const results: ResourceEventResult[] = [];
    for (const { index, resource } of resources) {
      const kind = getKind(resource.kind)!;
      const elog = log.child({ eventId: event.id, eventType: event.eventType, resource: index, kind: kind.kind, org: org.name });
      const ctx = createFetchContext({ client: target.client, log: elog, signal, cache, pageSize: this.deps.pageSize });
      const outcome = await kind.events!.handle(ctx, event, resource.selector as Selector);
      for (const item of [...outcome.upsert, ...outcome.deleted]) {
        item.__organizationName = org.name;
        item.__organizationUrl = org.url;
      }
      results.push(await this.#apply(org.name, index, resource, outcome.upsert, outcome.deleted, elog));
    }
    return { status: 'handled', organization: org.name, resources: results };
  }

  async #apply(organization: string, index: number, resource: ResourceConfig, current: RawItem[], gone: RawItem[], log: Logger): Promise<ResourceEventResult> {
    const mappers = this.#mappersFor(index, resource);
    const kept = current.length > 0 ? await mappers.kept.mapItems(current) : [];
    const everything = await mappers.any.mapItems([...current, ...gone]);
    const keptKeys = new Set(kept.map(entityKey));
    // Entities with a search-query identifier cannot be named, so they are never deleted here.
    const toDelete = everything.filter((e) => typeof e.identifier === 'string' && !keptKeys.has(entityKey(e)));
    const result: ResourceEventResult = { index, kind: resource.kind, upserted: 0, deleted: 0, notOwned: 0 };
    if (kept.length > 0) {
      const out = await this.deps.sink.upsert(kept, { organization, resourceIndex: index, kind: resource.kind });
      const flushed = await this.deps.sink.flush();
      const failed = [...out.failed, ...flushed.failed];
      if (failed.length > 0) throw new Error(`${failed.length} entities could not be written: ${failed[0]!.error}`);
      result.upserted = out.written + out.unchanged;
      if (this.deps.origins) for (const [bp, ids] of byBlueprint(kept)) await this.deps.origins.record(organization, bp, ids);
    }
    for (const [blueprint, ids] of byBlueprint(toDelete)) {
      if (!this.deps.catalog) {
        log.info({ blueprint, identifiers: ids }, 'dry-run: would delete');
        continue;
      }
      const owned = await this.deps.catalog.ownedAmong(blueprint, ids);
      result.notOwned += ids.length - owned.length;
      if (owned.length === 0) continue;
      const res = await this.deps.catalog.delete(blueprint, owned);
      if (res.failed.length > 0) throw new Error(`could not delete ${res.failed.length} ${blueprint} entities: ${res.failed[0]!.error}`);
      result.deleted += res.deleted.length;
      await this.deps.state?.forget(res.deleted.map((identifier) => entityKey({ blueprint, identifier })!));
      log.info({ blueprint, identifiers: res.deleted }, 'deleted entities of a live event');
    }
    return result;
  }

  #mappersFor(index: number, resource: ResourceConfig): { kept: ResourceMapper; any: ResourceMapper } {
    let m = this.#mappers.get(index);
    if (!m) {
      const unfiltered: ResourceConfig = { ...resource, selector: { ...resource.selector, query: 'true' } };
      m = { kept: new ResourceMapper(resource, { poolSize: 1 }), any: new ResourceMapper(unfiltered, { poolSize: 1 }) };
      this.#mappers.set(index, m);
    }
    return m;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#mappers.values()].flatMap((m) => [m.kept.close(), m.any.close()]));
    this.#mappers.clear();
  }
}
