/**
 * Writes what a refetch found (a live event's or an action's): the current items, mapped with a resource's mapping
 * (selector.query applies), are upserted; the entities of items that are gone, filtered out, or that no longer pass the
 * query are deleted if this instance owns them. Shared by live events (liveEvent.ts) and the catalog refresh after an
 * action (catalogRefresh.ts), so both treat an outcome alike.
 */
import type { ResourceConfig } from '../config/appConfig.js';
import { entityKey } from '../catalog/entity.js';
import type { CatalogSink } from '../catalog/sink.js';
import type { Organization } from '../ado/orgUrl.js';
import type { EventOutcome } from '../kinds/types.js';
import { ResourceMapper } from '../mapping/engine.js';
import type { Logger } from '../observability/log.js';
import type { EntityOrigins } from './entityOrigins.js';
import { byBlueprint } from './produced.js';

/** The delete side of the catalog for partial syncs: only entities this instance owns are removed. */
export interface LiveCatalog {
  ownedAmong(blueprint: string, identifiers: string[]): Promise<string[]>;
  delete(blueprint: string, identifiers: string[]): Promise<{ deleted: string[]; failed: Array<{ identifier: string; error: string }> }>;
}

export interface OutcomeWriterDeps {
  sink: CatalogSink;
  /** Without one (dry-run), entities to delete are only reported. */
  catalog?: LiveCatalog;
  state?: { forget(keys: string[]): Promise<void> };
  /** Records which organization produced each upserted entity (scopes stale deletion per organization). */
  origins?: EntityOrigins;
}

export interface ResourceEventResult {
  index: number;
  kind: string;
  upserted: number;
  deleted: number;
  /** Entities to delete that Port did not have, or that another datasource owns. */
  notOwned: number;
}

/**
 * Keeps one pair of mappers per resource (long-lived jq processes): the resource as configured, and the same mapping
 * with the query switched off, which names the entities of items that are gone or filtered out.
 */
export class OutcomeWriter {
  readonly #mappers = new Map<number, { kept: ResourceMapper; any: ResourceMapper }>();

  constructor(private readonly deps: OutcomeWriterDeps) {}

  /** Stamps the organization on every item, maps the outcome with resource `index` and writes it. */
  async write(org: Organization, index: number, resource: ResourceConfig, outcome: EventOutcome, log: Logger): Promise<ResourceEventResult> {
    const current = outcome.upsert;
    const gone = outcome.deleted;
    for (const item of [...current, ...gone]) {
      item.__organizationName = org.name;
      item.__organizationUrl = org.url;
    }
    const organization = org.name;
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
      log.info({ blueprint, identifiers: res.deleted }, 'deleted entities of items that are gone');
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
